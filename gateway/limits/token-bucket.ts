// Per-device token bucket: `burst` messages at once, `ratePerS` sustained. One broken device
// (a loop publishing as fast as it can) cannot flood the buffer; its excess is counted and
// dropped, and the gateway reports it with a "rate_limited" event (see gateway.ts).

/** Devices tracked at most by default; the least recently seen is forgotten beyond (it starts full again). */
export const DEFAULT_MAX_BUCKETS = 100_000;

interface Bucket {
  tokens: number;
  atMs: number;
}

export class DeviceRateLimiter {
  #buckets = new Map<string, Bucket>();
  /** buckets forgotten by the bound (vw_gateway_forgotten_total{what="rate_limit"}) */
  forgotten = 0;

  constructor(
    private readonly ratePerS: number,
    private readonly burst: number,
    private readonly nowMs: () => number = () => performance.now(),
    private readonly maxBuckets = DEFAULT_MAX_BUCKETS,
  ) {}

  get size(): number {
    return this.#buckets.size;
  }

  /** Takes one token for `device`; false when the device is over its rate. */
  take(device: string): boolean {
    const now = this.nowMs();
    let bucket = this.#buckets.get(device);
    if (!bucket) {
      if (this.#buckets.size >= this.maxBuckets) {
        const oldest = this.#buckets.keys().next().value;
        if (oldest !== undefined) {
          this.#buckets.delete(oldest);
          this.forgotten++;
        }
      }
      bucket = { tokens: this.burst, atMs: now };
    } else {
      this.#buckets.delete(device); // re-insert below: Map order = least recently seen first
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.atMs) / 1000) * this.ratePerS);
      bucket.atMs = now;
    }
    this.#buckets.set(device, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}
