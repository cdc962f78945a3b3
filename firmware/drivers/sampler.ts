// Polls an accelerometer's FIFO on a Timer and streams the samples into the analyzer.
// - Poll period: by default the time the FIFO takes to fill 3/4 (24 of 32 levels) at the part's
//   rate, so a poll that runs a little late still finds room.
// - FIFO overrun (the part reports its FIFO full: samples may be lost): counted, the FIFO is
//   restarted and the analyzer drops its partial window, so no window with a gap is reported.
// - Bus error: reported to onError, counted, and handled like an overrun (the window has a gap).
// - Block ingestion: the driver reads the FIFO's raw int16 words into one preallocated block and
//   the analyzer takes the block whole (no JavaScript per sample).
// - Analysis runs inside the drain that completes a window. Before it, the FIFO is settled: while
//   the samples arrive almost as fast as the bus reads them (the LIS3DH at 5376 Hz over 400 kHz
//   I2C: 3 ms to read a 21-sample burst, in which 16 more arrive), the drain that completes a window
//   leaves the FIFO half full, and the analysis (~4.5 ms: 24 samples at 5376 Hz) would overrun it.
//   So that drain's samples are held, not yet pushed, and the FIFO is drained again into the hold
//   until a drain brings at most SETTLED_SAMPLES (each drain is shorter than the one before it);
//   then the held samples go to the analyzer and the window is analysed with the FIFO nearly empty.
//   After the analysis the FIFO is drained once more, before any other callback (the MQTT session,
//   TLS, other timers) can run. maxPollMs keeps the longest poll seen, analysis included.
// The per-poll path allocates nothing.
import Timer from "timer";
import Time from "time";
import { FIFO_DEPTH, FIFO_ERROR, FIFO_OVERRUN, type AccelFifoSensor } from "./accel-fifo-sensor.js";
import type { VibrationAnalyzer, WindowResult } from "../dsp/analyzer.js";

/** a settling drain that brings this few samples leaves room for the analysis (32 - 24 at 5376 Hz, less a margin) */
const SETTLED_SAMPLES = 6;
/** FIFO blocks the hold takes: the completing drain and up to three settling drains */
const HOLD_BLOCKS = 4;

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
  readonly #block = new Int16Array(FIFO_DEPTH * 3);
  /** samples of a window-completing drain and its settling drains, pushed together before the analysis */
  readonly #hold = new Int16Array(FIFO_DEPTH * 3 * HOLD_BLOCKS);
  readonly #pollMs: number | undefined;
  #timer: Timer | undefined;
  #overruns = 0;
  #errors = 0;
  #sampleCount = 0;
  #windows = 0;
  #maxPollMs = 0;
  readonly #onWindow = (result: WindowResult): void => {
    this.#windows++;
    this.onWindow?.(result);
  };

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
  /** windows analysed */
  get windows(): number {
    return this.#windows;
  }
  /** the longest poll, ms (Time.ticks): drains plus the analysis of a window completed in it */
  get maxPollMs(): number {
    return this.#maxPollMs;
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
    if (config.sampleRateHz !== sensor.sampleRateHz || config.fullScaleMS2 !== sensor.fullScaleMS2 || config.sampleQuantumMS2 !== sensor.countMS2) {
      this.#analyzer.configure({ sampleRateHz: sensor.sampleRateHz, fullScaleMS2: sensor.fullScaleMS2, sampleQuantumMS2: sensor.countMS2 });
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

  /** one poll: drain the FIFO into the analyzer, and once more after a window's analysis (the timer calls it; public for tests) */
  poll(): void {
    const startMs = Time.ticks;
    const windows = this.#windows;
    this.#drain();
    if (this.#windows !== windows) this.#drain();
    const pollMs = Time.delta(startMs);
    if (pollMs > this.#maxPollMs) this.#maxPollMs = pollMs;
  }

  #drain(): void {
    const count = this.#read();
    if (count < 0) return;
    if (count < this.#analyzer.samplesUntilWindow) {
      this.#analyzer.pushBlock(this.#block, count, this.#onWindow);
      this.#sampleCount += count;
      return;
    }
    // this drain completes a window: settle the FIFO before the analysis runs
    const hold = this.#hold;
    hold.set(this.#block.subarray(0, count * 3));
    let held = count;
    let last = count;
    while (last > SETTLED_SAMPLES && held + FIFO_DEPTH <= FIFO_DEPTH * HOLD_BLOCKS) {
      last = this.#read();
      if (last < 0) return; // an overrun or a bus error: the held window has a gap and is dropped
      hold.set(this.#block.subarray(0, last * 3), held * 3);
      held += last;
    }
    this.#analyzer.pushBlock(hold, held, this.#onWindow);
    this.#sampleCount += held;
  }

  /** one FIFO read into #block: the sample count, or a negative code after counting it (the analyzer's partial window dropped) */
  #read(): number {
    const count = this.#sensor.readFifo(this.#block);
    if (count >= 0) return count;
    if (count === FIFO_OVERRUN) this.#overruns++;
    else if (count === FIFO_ERROR) this.#errors++;
    this.#analyzer.resynchronise();
    return count;
  }
}
