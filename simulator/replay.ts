// Offline replay of recorded acceleration through the firmware's own DSP, run in the real XS engine:
// the same analyzer code that goes to the device. With a sensor part, the recording goes through
// the full device chain instead: register-level model (quantised to the part's resolution and
// clipped at its range, FIFO filled at its output data rate) -> the real driver's burst reads ->
// the FIFO sampler -> the analyzer.
import { bundleFirmware } from "./bundle-firmware.js";
import { startXsWorker, type XsWorker } from "./xs-worker.js";
import { ZONE_LETTERS, type MachineClass, type RangeG } from "../protocol/messages.js";
import type { SensorPart } from "../firmware/drivers/accel-fifo-sensor.js";
import type { WindowSummary } from "../firmware/sim/entries/window-summary.js";

export interface ReplayOptions {
  sampleRateHz: number;
  windowSamples: number;
  hopSamples?: number;
  machineClass?: MachineClass;
  learningWindows?: number;
  /** run through this part's model and driver; undefined: straight into the analyzer */
  sensor?: SensorPart;
  rangeG?: RangeG;
  /** run the TypeScript reference DSP core instead of the native C core the device runs */
  reference?: boolean;
}

/** one line of replay output: the window's summary with the zone as a letter */
export type ReplayWindow = Pick<WindowSummary, "window" | "arms" | "vrms" | "bandHz" | "peak" | "crest" | "kurtosis" | "anomaly"> & { zone: string };

export class CsvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CsvError";
  }
}

/** samples sent to XS per call (bounded JSON messages) */
const CHUNK_SAMPLES = 4096;

/**
 * Parses "x,y,z" rows (m/s²), with an optional header line. Returns interleaved samples.
 * Blank lines are skipped; anything else that is not three finite numbers is an error naming the line.
 */
export function parseAccelerationCsv(text: string): Float64Array {
  const lines = text.split(/\r?\n/);
  const values: number[] = [];
  let seenData = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "") continue;
    const fields = line.split(",").map((field) => field.trim());
    const numbers = fields.map((field) => (field === "" ? NaN : Number(field)));
    if (!seenData && numbers.every((n) => Number.isNaN(n)) && fields.every((f) => /^[A-Za-z_][\w .()/²-]*$/.test(f))) {
      if (fields.length !== 3) throw new CsvError(`line ${i + 1}: header has ${fields.length} columns, expected 3 (x,y,z)`);
      seenData = true; // only the first non-blank line may be a header
      continue;
    }
    seenData = true;
    if (fields.length !== 3) throw new CsvError(`line ${i + 1}: expected 3 columns (x,y,z in m/s²), got ${fields.length}`);
    for (let c = 0; c < 3; c++) {
      if (!Number.isFinite(numbers[c])) throw new CsvError(`line ${i + 1}, column ${c + 1}: "${fields[c]}" is not a finite number`);
      values.push(numbers[c]!);
    }
  }
  return Float64Array.from(values);
}

export function toReplayWindow(summary: WindowSummary): ReplayWindow {
  return {
    window: summary.window,
    arms: summary.arms.map(round4),
    vrms: summary.vrms.map(round4),
    bandHz: summary.bandHz,
    peak: round4(summary.peak),
    crest: round4(summary.crest),
    kurtosis: round4(summary.kurtosis),
    zone: ZONE_LETTERS[summary.zone as 0 | 1 | 2 | 3],
    anomaly: summary.anomaly === null ? null : round4(summary.anomaly),
  };
}

function round4(value: number): number {
  return Math.round(value * 1e4) / 1e4;
}

/** replays interleaved samples; calls onWindow for each window in order; returns the window count */
export async function replaySamples(samples: Float64Array, options: ReplayOptions, onWindow: (window: ReplayWindow) => void): Promise<number> {
  const count = samples.length / 3;
  if (count < options.windowSamples) {
    throw new CsvError(`the file has ${count} samples, fewer than one window (${options.windowSamples} samples)`);
  }
  const analyzer = {
    windowSamples: options.windowSamples,
    hopSamples: options.hopSamples ?? options.windowSamples,
    machineClass: options.machineClass,
    learningWindows: options.learningWindows ?? 10,
    dspCore: options.reference ? "reference" : "native",
  };
  const xs = await startXsWorker({ name: "vibewatch-replay" });
  let windows = 0;
  const emit = (list: WindowSummary[]) => {
    for (const summary of list) {
      onWindow(toReplayWindow(summary));
      windows++;
    }
  };
  try {
    if (options.sensor) await replayThroughSensor(xs, samples, options, analyzer, emit);
    else {
      await xs.evaluate(await bundleFirmware("firmware/sim/entries/dsp-entry.ts"));
      // the DSP takes int16 counts, as on the device: one count is the file's largest |value| / 32767,
      // so the recording keeps ~15 bits of resolution (a sensor path quantises as its part does)
      await xs.call("init", { config: { ...analyzer, sampleRateHz: options.sampleRateHz, sampleQuantumMS2: fileQuantumMS2(samples) } });
      for (let start = 0; start < count; start += CHUNK_SAMPLES) {
        const chunk = Array.from(samples.subarray(start * 3, Math.min(count, start + CHUNK_SAMPLES) * 3));
        emit((await xs.call<WindowSummary[]>("push", { samples: chunk })).value);
      }
    }
  } finally {
    await xs.close();
  }
  return windows;
}

/** the count size that fits the file's largest magnitude into int16 (0: the analyzer's default) */
export function fileQuantumMS2(samples: Float64Array): number {
  let largest = 0;
  for (const value of samples) if (Math.abs(value) > largest) largest = Math.abs(value);
  return largest > 0 ? largest / 32767 : 0;
}

async function replayThroughSensor(
  xs: XsWorker, samples: Float64Array, options: ReplayOptions, analyzer: Record<string, unknown>, emit: (list: WindowSummary[]) => void,
): Promise<void> {
  const count = samples.length / 3;
  await xs.evaluate(await bundleFirmware("firmware/sim/entries/driver-entry.ts"));
  const opened = (await xs.call<{ error?: string; sampleRateHz?: number }>("setup", {
    part: options.sensor, signal: { kind: "block", capacity: CHUNK_SAMPLES * 2 }, rateHz: options.sampleRateHz, rangeG: options.rangeG ?? 16,
  })).value;
  if (opened.error) throw new Error(opened.error);
  if (opened.sampleRateHz !== options.sampleRateHz) {
    throw new CsvError(`${options.sensor} cannot sample at ${options.sampleRateHz} Hz (nearest: ${opened.sampleRateHz} Hz); use --rate with one of its rates or replay without --sensor`);
  }
  await xs.call("sampler", { analyzer });
  let fed = 0;
  while (fed < count) {
    const chunk = Array.from(samples.subarray(fed * 3, Math.min(count, fed + CHUNK_SAMPLES) * 3));
    const { accepted } = (await xs.call<{ accepted: number }>("feed", { samples: chunk })).value;
    fed += accepted;
    // let the sensor take exactly what was fed: samples / rate, in virtual time
    await xs.call("advance", { ms: (accepted * 1000) / options.sampleRateHz });
    const result = (await xs.call<{ windows: WindowSummary[]; overruns: number; errors: string[] }>("windows")).value;
    if (result.errors.length > 0) throw new Error(`sensor error during replay: ${result.errors[0]}`);
    if (result.overruns > 0) throw new Error(`sensor FIFO overran ${result.overruns} times during replay`);
    emit(result.windows);
  }
}
