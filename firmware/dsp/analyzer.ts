// The on-device vibration analyzer: samples in (m/s², per axis), one WindowResult out per hop.
// Per-sample path: three typed-array stores and a counter. Per window: features of each axis
// (axis-features.ts), the ISO 10816-3 zone, fixed velocity thresholds, the anomaly score against
// a learned baseline, and alerts with hysteresis. Every buffer is made in the constructor or in
// configure(); the WindowResult is one object, reused: copy what you keep.
import type { AlertKind, MachineClass, ZoneIndex } from "../../protocol/messages.js";
import { MAX_BANDS } from "../../protocol/limits.js";
import { AxisFeatures, type AxisStats, type SampleRing } from "./axis-features.js";
import { isPowerOfTwo } from "./fft.js";
import { HysteresisAlarm, type AlarmLevel } from "./hysteresis.js";
import { DEFAULT_MACHINE_CLASS, ISO_ZONE_LIMITS_MM_S, isoZone } from "./iso-zones.js";
import { WelfordBaseline, type Baseline } from "./welford-baseline.js";

export type { Baseline } from "./welford-baseline.js";

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
   * the sensor's resolution (one LSB), m/s²: when set (> 0) the window is kept as int16 counts of
   * it, halving the ring memory (the sampler sets it from the driver); 0: float32 (replay)
   */
  sampleQuantumMS2?: number;
  /** sensor full scale, m/s²: a window whose peak reaches 98% of it raises a "sensor" alert (clipping) */
  fullScaleMS2?: number;
  /** hysteresis: deadband fraction below a limit to clear, windows to confirm a change */
  hysteresisDeadband?: number;
  confirmWindows?: number;
}

export interface AlertEvent {
  kind: AlertKind;
  level: AlarmLevel;
  value: number;
  limit: number;
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
const CLIP_FRACTION = 0.98;

const KIND_INDEX: Record<AlertKind, number> = { zone: 0, vrms: 1, anomaly: 2, sensor: 3 };

export class VibrationAnalyzer {
  #config: Required<Omit<AnalyzerConfig, "baseline">>;
  #rings: SampleRing[] = [];
  /** m/s² per ring unit (the quantum), and its inverse for push() */
  #ringScale = 1;
  #ringInverse = 1;
  #axes: AxisFeatures;
  #head = 0;
  #filled = 0;
  #sinceWindow = 0;
  #features = new Float64Array(ANOMALY_FEATURES.length);
  #peak = new Float64Array(3);
  #kurtosis = new Float64Array(3);
  #maxAbs = new Float64Array(3);
  /** band acceleration RMS per axis; the dominant axis's is copied into the result */
  #axisBands: Float32Array[] = [];
  #baseline = new WelfordBaseline(ANOMALY_FEATURES.length);
  #pushedBaseline = false;
  /** zone, vrms, anomaly, sensor; the zone alarm is strict: a boundary value belongs to the lower zone */
  #alarms = [new HysteresisAlarm(0.1, 2, true), new HysteresisAlarm(), new HysteresisAlarm(), new HysteresisAlarm()];
  #events: AlertEvent[];
  readonly result: WindowResult;

  constructor(config: AnalyzerConfig) {
    this.#config = withDefaults(config);
    this.#events = (["zone", "vrms", "anomaly", "sensor"] as const).map((kind) => ({ kind, level: 0 as AlarmLevel, value: 0, limit: 0 }));
    this.result = {
      index: -1, sampleRateHz: 0, windowSamples: 0, accelRmsMS2: new Float32Array(3), velocityRmsMmS: new Float32Array(3),
      bandHz: [0, 0], peakMS2: 0, crest: 0, kurtosis: 0, bandRmsMS2: new Float32Array(0), bandEdgesHz: [], dominantAxis: 0,
      zone: 0, anomaly: null, baselineState: 0, alerts: [],
    };
    this.#axes = new AxisFeatures(this.#config.windowSamples, this.#config.sampleRateHz, [10, 1000], [10, 1000]);
    this.#rebuild();
    this.#applyHysteresis();
    if (config.baseline) this.setBaseline(config.baseline);
  }

  get config(): Readonly<Required<Omit<AnalyzerConfig, "baseline">>> {
    return this.#config;
  }

  /** bytes held in typed arrays (the analyzer's share of the device's memory budget) */
  get bufferBytes(): number {
    const bands = this.result.bandRmsMS2.byteLength * 4;
    return this.#rings.reduce((sum, ring) => sum + ring.byteLength, 0) + this.#axes.bufferBytes + bands;
  }

  /** changes only the given fields; a new rate, window or band restarts the current window */
  configure(partial: Partial<AnalyzerConfig>): void {
    const { baseline, ...rest } = partial;
    const previous = this.#config;
    this.#config = withDefaults({ ...previous, ...rest });
    const c = this.#config;
    if (c.sampleRateHz !== previous.sampleRateHz || c.windowSamples !== previous.windowSamples || c.hopSamples !== previous.hopSamples
      || c.sampleQuantumMS2 !== previous.sampleQuantumMS2 || c.velocityBandHz.join() !== previous.velocityBandHz.join() || c.bandEdgesHz.join() !== previous.bandEdgesHz.join()) {
      this.#rebuild();
    }
    this.#applyHysteresis();
    if (baseline) this.setBaseline(baseline);
    else if (partial.learningWindows !== undefined && partial.learningWindows > 0) this.relearn();
  }

  #applyHysteresis(): void {
    for (const alarm of this.#alarms) {
      alarm.deadband = this.#config.hysteresisDeadband;
      alarm.confirmWindows = this.#config.confirmWindows;
    }
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
    this.#filled = 0;
    this.#sinceWindow = 0;
    this.#head = 0;
  }

  /** adds one sample (m/s²); returns the window result when this sample completes a window, else null */
  push(x: number, y: number, z: number): WindowResult | null {
    const head = this.#head;
    const inverse = this.#ringInverse;
    if (inverse === 1) {
      this.#rings[0]![head] = x;
      this.#rings[1]![head] = y;
      this.#rings[2]![head] = z;
    } else {
      this.#rings[0]![head] = toCount(x * inverse);
      this.#rings[1]![head] = toCount(y * inverse);
      this.#rings[2]![head] = toCount(z * inverse);
    }
    const n = this.#config.windowSamples;
    this.#head = head + 1 === n ? 0 : head + 1;
    if (this.#filled < n) {
      this.#filled++;
      if (this.#filled < n) return null;
    } else if (++this.#sinceWindow < this.#config.hopSamples) {
      return null;
    }
    this.#sinceWindow = 0;
    this.#analyse();
    return this.result;
  }

  #rebuild(): void {
    const c = this.#config;
    const n = c.windowSamples;
    const quantum = c.sampleQuantumMS2;
    this.#rings = quantum > 0 ? [new Int16Array(n), new Int16Array(n), new Int16Array(n)] : [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
    this.#ringScale = quantum > 0 ? quantum : 1;
    this.#ringInverse = quantum > 0 ? 1 / quantum : 1;
    const usableHz = c.sampleRateHz / 2.56;
    const bandHz: [number, number] = [c.velocityBandHz[0], Math.min(c.velocityBandHz[1], usableHz)];
    const edges = c.bandEdgesHz.filter((edge) => edge < bandHz[1]);
    if (edges.length === 0 || edges[edges.length - 1]! < bandHz[1]) edges.push(bandHz[1]);
    while (edges.length > MAX_BANDS + 1) edges.pop();
    this.#axes.configure(n, c.sampleRateHz, bandHz, edges);
    const r = this.result;
    r.sampleRateHz = c.sampleRateHz;
    r.windowSamples = n;
    r.bandHz = bandHz;
    r.bandEdgesHz = edges;
    r.bandRmsMS2 = new Float32Array(Math.max(0, edges.length - 1));
    this.#axisBands = [0, 1, 2].map(() => new Float32Array(r.bandRmsMS2.length));
    this.resynchronise();
  }

  #analyse(): void {
    const c = this.#config;
    const r = this.result;
    const axes = this.#axes;
    const stats = axes.stats;
    const bands = this.#axisBands;
    // x and y share one FFT, z has its own
    axes.analyse(this.#rings[0]!, this.#rings[1]!, this.#head, this.#ringScale, bands[0]!, bands[1]!);
    for (let a = 0; a < 2; a++) this.#keep(a, stats, a);
    axes.analyse(this.#rings[2]!, null, this.#head, this.#ringScale, bands[2]!, null);
    this.#keep(2, stats, 0);
    let dominant: 0 | 1 | 2 = 0;
    let vmax = 0;
    for (let a = 0; a < 3; a++) {
      if (r.accelRmsMS2[a]! > r.accelRmsMS2[dominant]!) dominant = a as 0 | 1 | 2;
      if (r.velocityRmsMmS[a]! > vmax) vmax = r.velocityRmsMmS[a]!;
      this.#features[a] = r.velocityRmsMmS[a]!;
      this.#features[3 + a] = r.accelRmsMS2[a]!;
    }
    // peak, crest, kurtosis and band energies come from the dominant axis (largest acceleration RMS)
    r.peakMS2 = this.#peak[dominant]!;
    const rms = r.accelRmsMS2[dominant]!;
    r.crest = rms > 0 ? r.peakMS2 / rms : 0;
    r.kurtosis = this.#kurtosis[dominant]!;
    r.bandRmsMS2.set(bands[dominant]!);
    const maxAbs = Math.max(this.#maxAbs[0]!, this.#maxAbs[1]!, this.#maxAbs[2]!);
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
    const limits = ISO_ZONE_LIMITS_MM_S[c.machineClass];
    this.#check("zone", vmax, limits[1], limits[2]);
    this.#check("vrms", vmax, c.velocityWarnMmS, c.velocityAlarmMmS);
    this.#check("anomaly", r.anomaly ?? 0, 0, c.anomalyAlarm);
    this.#check("sensor", maxAbs, 0, c.fullScaleMS2 * CLIP_FRACTION);
  }

  /** copies the features of one analysed axis (stats slot) into the result for `axis` */
  #keep(axis: number, stats: AxisStats, slot: number): void {
    this.result.accelRmsMS2[axis] = stats.rms[slot]!;
    this.result.velocityRmsMmS[axis] = stats.velocityRmsMmS[slot]!;
    this.#peak[axis] = stats.peak[slot]!;
    this.#kurtosis[axis] = stats.kurtosis[slot]!;
    this.#maxAbs[axis] = stats.maxAbs[slot]!;
  }

  #check(kind: AlertKind, value: number, warnLimit: number, alarmLimit: number): void {
    const i = KIND_INDEX[kind];
    const alarm = this.#alarms[i]!;
    if (!alarm.update(value, warnLimit, alarmLimit)) return;
    const event = this.#events[i]!;
    event.level = alarm.level;
    event.value = value;
    event.limit = alarm.level === 2 ? alarmLimit : alarm.level === 1 ? warnLimit : value;
    this.result.alerts.push(event);
  }
}

/** a sample in quantum units, rounded and saturated to int16 (never wrapped) */
function toCount(value: number): number {
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
