// Polls an accelerometer's FIFO on a Timer and streams the samples into the analyzer.
// - Poll period: by default the time the FIFO takes to fill 3/4 (24 of 32 levels) at the part's
//   rate, so a poll that runs a little late still finds room.
// - FIFO overrun (the part reports its FIFO full: samples may be lost): counted, the FIFO is
//   restarted and the analyzer drops its partial window, so no window with a gap is reported.
// - Bus error: reported to onError, counted, and handled like an overrun (the window has a gap).
// The per-poll path allocates nothing: one preallocated sample buffer, the analyzer's own buffers.
import Timer from "timer";
import { FIFO_DEPTH, FIFO_ERROR, FIFO_OVERRUN, type AccelFifoSensor } from "./accel-fifo-sensor.js";
import type { VibrationAnalyzer, WindowResult } from "../dsp/analyzer.js";

export interface FifoSamplerOptions {
  sensor: AccelFifoSensor;
  analyzer: VibrationAnalyzer;
  /** poll period, ms (default: time to fill 24 FIFO levels) */
  pollMs?: number;
}

export class FifoSampler {
  onWindow?: (result: WindowResult) => void;
  onError?: (error: Error) => void;
  readonly #sensor: AccelFifoSensor;
  readonly #analyzer: VibrationAnalyzer;
  readonly #samples = new Float32Array(FIFO_DEPTH * 3);
  readonly #pollMs: number | undefined;
  #timer: Timer | undefined;
  #overruns = 0;
  #errors = 0;
  #sampleCount = 0;

  constructor(options: FifoSamplerOptions) {
    this.#sensor = options.sensor;
    this.#analyzer = options.analyzer;
    this.#pollMs = options.pollMs;
    if (this.#pollMs !== undefined && !(this.#pollMs > 0)) throw new RangeError(`pollMs must be > 0, got ${this.#pollMs}`);
    const previous = this.#sensor.onError;
    this.#sensor.onError = (error) => {
      previous?.(error);
      this.onError?.(error);
    };
  }

  /** FIFO overruns since construction */
  get overruns(): number {
    return this.#overruns;
  }
  /** bus errors since construction */
  get errors(): number {
    return this.#errors;
  }
  /** samples delivered to the analyzer */
  get samples(): number {
    return this.#sampleCount;
  }
  get running(): boolean {
    return this.#timer !== undefined;
  }
  get pollMs(): number {
    return this.#pollMs ?? Math.max(1, Math.floor((24 * 1000) / this.#sensor.sampleRateHz));
  }

  /**
   * (Re)starts polling; stale FIFO data is dropped. The analyzer follows the sensor's rate, full
   * scale and resolution (it then keeps its window as int16 counts: half the memory).
   */
  start(): void {
    this.stop();
    const sensor = this.#sensor;
    const config = this.#analyzer.config;
    if (config.sampleRateHz !== sensor.sampleRateHz || config.fullScaleMS2 !== sensor.fullScaleMS2 || config.sampleQuantumMS2 !== sensor.lsbMS2) {
      this.#analyzer.configure({ sampleRateHz: sensor.sampleRateHz, fullScaleMS2: sensor.fullScaleMS2, sampleQuantumMS2: sensor.lsbMS2 });
    }
    this.#analyzer.resynchronise();
    sensor.restartFifo();
    this.#timer = Timer.repeat(() => this.poll(), this.pollMs);
  }

  stop(): void {
    if (this.#timer === undefined) return;
    Timer.clear(this.#timer);
    this.#timer = undefined;
  }

  /** one poll: drain the FIFO into the analyzer (the timer calls it; public for tests) */
  poll(): void {
    const count = this.#sensor.readFifo(this.#samples);
    if (count < 0) {
      if (count === FIFO_OVERRUN) this.#overruns++;
      else if (count === FIFO_ERROR) this.#errors++;
      this.#analyzer.resynchronise();
      return;
    }
    const samples = this.#samples;
    const analyzer = this.#analyzer;
    for (let i = 0; i < count; i++) {
      const result = analyzer.push(samples[i * 3]!, samples[i * 3 + 1]!, samples[i * 3 + 2]!);
      if (result && this.onWindow) this.onWindow(result);
    }
    this.#sampleCount += count;
  }
}
