// What a simulated accelerometer measures: acceleration in m/s² on x, y, z at a given time.
// Sensor models call sample() once per output-data-rate tick, in time order.

export interface SignalSource {
  /** writes the acceleration at timeS (seconds since the sensor started) into out[0..2], m/s² */
  sample(timeS: number, out: Float64Array): void;
}

/** Deterministic seeded PRNG (mulberry32) with Gaussian draws (Box–Muller): same seed, same signal. */
export class SeededRandom {
  #state: number;
  #spare = 0;
  #hasSpare = false;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** uniform in [0, 1) */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** standard normal */
  gaussian(): number {
    if (this.#hasSpare) {
      this.#hasSpare = false;
      return this.#spare;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const radius = Math.sqrt(-2 * Math.log(u));
    this.#spare = radius * Math.sin(2 * Math.PI * v);
    this.#hasSpare = true;
    return radius * Math.cos(2 * Math.PI * v);
  }
}
