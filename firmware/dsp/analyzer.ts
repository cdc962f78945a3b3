// The on-device vibration analyzer: int16 sensor counts in (whole FIFO blocks), one WindowResult
// out per hop. The per-window numeric work is the DSP core's (dsp-core.ts: native C on the device,
// the TypeScript reference on request); here: the dominant axis, the ISO 10816-3 zone, the anomaly
// score against a learned baseline, and the alerts (alert-policy.ts). Every buffer is made in the
// constructor or in configure(); the WindowResult is one object, reused: copy what you keep.
import type { MachineClass, ZoneIndex } from "../../protocol/messages.js";
import { MAX_BANDS } from "../../protocol/limits.js";
import { AlertPolicy, type AlertEvent, type WindowMeasures } from "./alert-policy.js";
import { AXIS_STRIDE, FEATURE, newFeatures, type DspCore, type DspCoreKind } from "./dsp-core.js";
import { isPowerOfTwo } from "./fft.js";
import { DEFAULT_MACHINE_CLASS, ISO_ZONE_LIMITS_MM_S, isoZone } from "./iso-zones.js";
import { NativeDspCore } from "./native-core.js";
import { ReferenceDspCore } from "./reference-core.js";
import { WelfordBaseline, type Baseline } from "./welford-baseline.js";

export type { Baseline } from "./welford-baseline.js";
export type { AlertEvent } from "./alert-policy.js";

export interface AnalyzerConfig {
  sampleRateHz: number;
  /** window length, samples: a power of two, 64..16384 */
  windowSamples: number;
  /** samples between window starts, 1..windowSamples */
  hopSamples: number;
  machineClass?: MachineClass;
  /** fixed velocity RMS thresholds (largest axis), mm/s; absent or 0: off */
  velocityWarnMmS?: number;
  velocityAlarmMmS?: number;
  /** anomaly score alarm threshold (standardised distance); absent or 0: off */
  anomalyAlarm?: number;
  /** windows to learn the baseline from (0: keep the current one) */
  learningWindows: number;
  /** a baseline to use at once (pushed from the cloud or persisted) */
  baseline?: Baseline;
  /** velocity band [low, high] Hz; high is capped at sampleRateHz / 2.56 (usable bandwidth) */
  velocityBandHz?: [number, number];
  /** band-energy edges, Hz (ascending); capped like the velocity band; at most MAX_BANDS bands */
  bandEdgesHz?: number[];
  /**
   * m/s² per count of the int16 samples pushBlock() takes (the sampler sets it from the driver's
   * countMS2). push() quantises m/s² to counts of it; 0: DEFAULT_QUANTUM_MS2 (±16 g in int16)
   */
  sampleQuantumMS2?: number;
  /** sensor full scale, m/s²: a window whose peak reaches 98% of it raises a "sensor" alert (clipping) */
  fullScaleMS2?: number;
  /** hysteresis: deadband fraction below a limit to clear, windows to confirm a change */
  hysteresisDeadband?: number;
  confirmWindows?: number;
  /** which DSP core computes the window: "native" (the C core, default) or "reference" (TypeScript) */
  dspCore?: DspCoreKind;
}

export interface WindowResult {
  index: number;
  sampleRateHz: number;
  windowSamples: number;
  accelRmsMS2: Float32Array;
  velocityRmsMmS: Float32Array;
  bandHz: [number, number];
  /** peak |a - mean|, crest factor and kurtosis of the dominant axis (largest acceleration RMS) */
  peakMS2: number;
  crest: number;
  kurtosis: number;
  bandRmsMS2: Float32Array;
  bandEdgesHz: number[];
  dominantAxis: 0 | 1 | 2;
  zone: ZoneIndex;
  anomaly: number | null;
  baselineState: 0 | 1 | 2;
  alerts: AlertEvent[];
}

/** the features the anomaly baseline learns: vrms x,y,z, arms x,y,z, crest, kurtosis */
export const ANOMALY_FEATURES = ["vrmsX", "vrmsY", "vrmsZ", "armsX", "armsY", "armsZ", "crest", "kurtosis"] as const;
export const DEFAULT_BAND_EDGES_HZ: readonly number[] = [10, 50, 100, 200, 500, 1000];
/** count size when none is configured: ±16 g over the int16 range */
export const DEFAULT_QUANTUM_MS2 = (16 * 9.80665) / 32767;

export type WindowListener = (result: WindowResult) => void;

export class VibrationAnalyzer {
  #config: Required<Omit<AnalyzerConfig, "baseline">>;
  readonly #core: DspCore;
  /** m/s² per count, and its inverse for push() */
  #countMS2 = DEFAULT_QUANTUM_MS2;
  #inverseCount = 1 / DEFAULT_QUANTUM_MS2;
  /** mirrors the core's fill: samples to push before its next window (windowSamples, then hopSamples) */
  #untilWindow = 0;
  /** push()'s one-sample block */
  readonly #one = new Int16Array(3);
  readonly #coreFeatures = newFeatures();
  #features = new Float64Array(ANOMALY_FEATURES.length);
  #baseline = new WelfordBaseline(ANOMALY_FEATURES.length);
  #pushedBaseline = false;
  readonly #policy = new AlertPolicy();
  /** what the policy decides on, refilled per window (nothing allocated per window) */
  readonly #measures: WindowMeasures = { velocityMaxMmS: 0, anomaly: null, maxAbsMS2: 0 };
  readonly result: WindowResult;

  constructor(config: AnalyzerConfig) {
    this.#config = withDefaults(config);
    this.#core = this.#config.dspCore === "reference" ? new ReferenceDspCore() : new NativeDspCore();
    this.result = {
      index: -1, sampleRateHz: 0, windowSamples: 0, accelRmsMS2: new Float32Array(3), velocityRmsMmS: new Float32Array(3),
      bandHz: [0, 0], peakMS2: 0, crest: 0, kurtosis: 0, bandRmsMS2: new Float32Array(0), bandEdgesHz: [], dominantAxis: 0,
      zone: 0, anomaly: null, baselineState: 0, alerts: [],
    };
    this.#rebuild();
    this.#policy.configure(this.#config);
    if (config.baseline) this.setBaseline(config.baseline);
  }

  get config(): Readonly<Required<Omit<AnalyzerConfig, "baseline">>> {
    return this.#config;
  }

  /** which core computes the windows */
  get dspCore(): DspCoreKind {
    return this.#core.kind;
  }

  /** bytes the DSP core holds (on the device: outside the XS heap for the native core) plus the result's bands */
  get bufferBytes(): number {
    return this.#core.bufferBytes + this.result.bandRmsMS2.byteLength;
  }

  /** changes only the given fields; a new rate, window or band restarts the current window */
  configure(partial: Partial<AnalyzerConfig>): void {
    const { baseline, ...rest } = partial;
    const previous = this.#config;
    this.#config = withDefaults({ ...previous, ...rest, dspCore: previous.dspCore });
    const c = this.#config;
    if (c.sampleRateHz !== previous.sampleRateHz || c.windowSamples !== previous.windowSamples || c.hopSamples !== previous.hopSamples
      || c.sampleQuantumMS2 !== previous.sampleQuantumMS2 || c.velocityBandHz.join() !== previous.velocityBandHz.join() || c.bandEdgesHz.join() !== previous.bandEdgesHz.join()) {
      this.#rebuild();
    }
    this.#policy.configure(c);
    if (baseline) this.setBaseline(baseline);
    else if (partial.learningWindows !== undefined && partial.learningWindows > 0) this.relearn();
  }

  /** adopts a baseline (pushed or persisted): the anomaly score is live at once */
  setBaseline(baseline: Baseline): void {
    this.#baseline.load(baseline);
    this.#pushedBaseline = true;
  }

  /** forgets the baseline and learns again for learningWindows windows */
  relearn(): void {
    this.#baseline.reset();
    this.#pushedBaseline = false;
  }

  getBaseline(): Baseline {
    return this.#baseline.toPlain();
  }

  /** drops the partial window (after a FIFO overrun): the next window is made of fresh samples only */
  resynchronise(): void {
    this.#core.reset();
    this.#untilWindow = this.#config.windowSamples;
  }

  /**
   * samples still to push before the next window is complete (and analysed, in that push): the
   * sampler empties the FIFO before a drain that will complete one (firmware/drivers/sampler.ts)
   */
  get samplesUntilWindow(): number {
    return this.#untilWindow;
  }

  /**
   * Takes `count` interleaved x, y, z int16 samples (counts of sampleQuantumMS2) from `block`, as a
   * FIFO drain delivers them: no JavaScript per sample. Calls onWindow with the result of each
   * window the block completes, before taking the samples after it.
   */
  pushBlock(block: Int16Array, count: number, onWindow?: WindowListener): void {
    const core = this.#core;
    let offset = 0;
    while (offset < count) {
      const taken = core.push(block, offset, count - offset);
      offset += taken;
      this.#untilWindow -= taken;
      if (core.analyse(this.#coreFeatures)) {
        this.#untilWindow = this.#config.hopSamples;
        this.#finishWindow();
        onWindow?.(this.result);
      } else if (taken === 0) {
        throw new Error("analyzer: the DSP core took no samples and had no window ready");
      }
    }
  }

  /** adds one sample (m/s², quantised to counts); returns the window result when it completes a window, else null */
  push(x: number, y: number, z: number): WindowResult | null {
    const one = this.#one;
    const inverse = this.#inverseCount;
    one[0] = toCount(x * inverse);
    one[1] = toCount(y * inverse);
    one[2] = toCount(z * inverse);
    this.#core.push(one, 0, 1);
    this.#untilWindow--;
    if (!this.#core.analyse(this.#coreFeatures)) return null;
    this.#untilWindow = this.#config.hopSamples;
    this.#finishWindow();
    return this.result;
  }

  #rebuild(): void {
    const c = this.#config;
    this.#untilWindow = c.windowSamples;
    const n = c.windowSamples;
    this.#countMS2 = c.sampleQuantumMS2 > 0 ? c.sampleQuantumMS2 : DEFAULT_QUANTUM_MS2;
    this.#inverseCount = 1 / this.#countMS2;
    const usableHz = c.sampleRateHz / 2.56;
    const bandHz: [number, number] = [c.velocityBandHz[0], Math.min(c.velocityBandHz[1], usableHz)];
    const edges = c.bandEdgesHz.filter((edge) => edge < bandHz[1]);
    if (edges.length === 0 || edges[edges.length - 1]! < bandHz[1]) edges.push(bandHz[1]);
    while (edges.length > MAX_BANDS + 1) edges.pop();
    this.#core.configure({ windowSamples: n, hopSamples: c.hopSamples, sampleRateHz: c.sampleRateHz, countMS2: this.#countMS2, bandHz, bandEdgesHz: edges });
    const r = this.result;
    r.sampleRateHz = c.sampleRateHz;
    r.windowSamples = n;
    r.bandHz = bandHz;
    r.bandEdgesHz = edges;
    r.bandRmsMS2 = new Float32Array(Math.max(0, edges.length - 1));
  }

  /** the result of the window the core just analysed: dominant axis, zone, anomaly, alerts */
  #finishWindow(): void {
    const c = this.#config;
    const r = this.result;
    const f = this.#coreFeatures;
    let dominant: 0 | 1 | 2 = 0;
    let vmax = 0;
    let maxAbs = 0;
    for (let a = 0; a < 3; a++) {
      const base = a * AXIS_STRIDE;
      r.accelRmsMS2[a] = f[base + FEATURE.rmsMS2]!;
      r.velocityRmsMmS[a] = f[base + FEATURE.velocityRmsMmS]!;
      if (r.accelRmsMS2[a]! > r.accelRmsMS2[dominant]!) dominant = a as 0 | 1 | 2;
      if (r.velocityRmsMmS[a]! > vmax) vmax = r.velocityRmsMmS[a]!;
      if (f[base + FEATURE.maxAbsMS2]! > maxAbs) maxAbs = f[base + FEATURE.maxAbsMS2]!;
      this.#features[a] = r.velocityRmsMmS[a]!;
      this.#features[3 + a] = r.accelRmsMS2[a]!;
    }
    // peak, crest, kurtosis and band energies come from the dominant axis (largest acceleration RMS)
    const base = dominant * AXIS_STRIDE;
    r.peakMS2 = f[base + FEATURE.peakMS2]!;
    const rms = r.accelRmsMS2[dominant]!;
    r.crest = rms > 0 ? r.peakMS2 / rms : 0;
    r.kurtosis = f[base + FEATURE.kurtosis]!;
    for (let b = 0; b < r.bandRmsMS2.length; b++) r.bandRmsMS2[b] = f[base + FEATURE.bands + b]!;
    this.#features[6] = r.crest;
    this.#features[7] = r.kurtosis;
    r.index++;
    r.dominantAxis = dominant;
    r.zone = isoZone(vmax, c.machineClass);

    const baseline = this.#baseline;
    if (this.#pushedBaseline || (c.learningWindows === 0 && baseline.count > 0) || (c.learningWindows > 0 && baseline.count >= c.learningWindows)) {
      r.anomaly = baseline.score(this.#features);
      r.baselineState = this.#pushedBaseline ? 2 : 1;
    } else {
      baseline.learn(this.#features);
      r.anomaly = null;
      r.baselineState = 0;
    }

    r.alerts.length = 0;
    const measures = this.#measures;
    measures.velocityMaxMmS = vmax;
    measures.anomaly = r.anomaly;
    measures.maxAbsMS2 = maxAbs;
    this.#policy.evaluate(measures, c, r.alerts);
  }
}

/** a sample in counts, rounded and saturated to int16 (never wrapped) */
export function toCount(value: number): number {
  const rounded = Math.round(value);
  return rounded > 32767 ? 32767 : rounded < -32768 ? -32768 : rounded;
}

function withDefaults(config: AnalyzerConfig): Required<Omit<AnalyzerConfig, "baseline">> {
  const c = {
    machineClass: DEFAULT_MACHINE_CLASS,
    velocityWarnMmS: 0,
    velocityAlarmMmS: 0,
    anomalyAlarm: 0,
    velocityBandHz: [10, 1000] as [number, number],
    bandEdgesHz: [...DEFAULT_BAND_EDGES_HZ],
    fullScaleMS2: 0,
    sampleQuantumMS2: 0,
    hysteresisDeadband: 0.1,
    confirmWindows: 2,
    dspCore: "native" as DspCoreKind,
    ...stripUndefined(config),
  };
  delete (c as AnalyzerConfig).baseline;
  if (!(c.sampleRateHz > 0)) throw new RangeError(`sampleRateHz must be > 0, got ${c.sampleRateHz}`);
  if (!isPowerOfTwo(c.windowSamples) || c.windowSamples < 64 || c.windowSamples > 16384) {
    throw new RangeError(`windowSamples must be a power of two in 64..16384, got ${c.windowSamples}`);
  }
  if (!Number.isInteger(c.hopSamples) || c.hopSamples < 1 || c.hopSamples > c.windowSamples) {
    throw new RangeError(`hopSamples must be an integer in 1..windowSamples (${c.windowSamples}), got ${c.hopSamples}`);
  }
  if (!(c.hysteresisDeadband >= 0 && c.hysteresisDeadband < 1)) throw new RangeError(`hysteresisDeadband must be in [0, 1), got ${c.hysteresisDeadband}`);
  if (!Number.isInteger(c.confirmWindows) || c.confirmWindows < 1) throw new RangeError(`confirmWindows must be an integer >= 1, got ${c.confirmWindows}`);
  if (!(c.sampleQuantumMS2 >= 0)) throw new RangeError(`sampleQuantumMS2 must be >= 0, got ${c.sampleQuantumMS2}`);
  if (c.dspCore !== "native" && c.dspCore !== "reference") throw new RangeError(`dspCore must be native or reference, got ${String(c.dspCore)}`);
  if (!(c.machineClass in ISO_ZONE_LIMITS_MM_S)) throw new RangeError(`machineClass must be 1r, 1f, 2r or 2f, got ${String(c.machineClass)}`);
  if (!Number.isInteger(c.learningWindows) || c.learningWindows < 0) throw new RangeError(`learningWindows must be an integer >= 0, got ${c.learningWindows}`);
  const [low, high] = c.velocityBandHz;
  if (!(low > 0) || !(high > low) || low >= c.sampleRateHz / 2.56) {
    throw new RangeError(`velocityBandHz [${low}, ${high}] must satisfy 0 < low < high and low < sampleRateHz/2.56`);
  }
  return c;
}

function stripUndefined<T extends object>(value: T): T {
  const out = {} as T;
  for (const key of Object.keys(value) as (keyof T)[]) if (value[key] !== undefined) out[key] = value[key];
  return out;
}
