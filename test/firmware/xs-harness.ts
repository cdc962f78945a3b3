// Starts an XS worker with one of the firmware simulator entries (the real XS engine, the real
// firmware code bundled exactly as the simulator runs it).
import { bundleFirmware } from "../../simulator/bundle-firmware.js";
import { startXsWorker, type XsWorker } from "../../simulator/xs-worker.js";
import type { WindowSummary } from "../../firmware/sim/entries/window-summary.js";

export type { WindowSummary };

export async function startFirmwareEntry(entry: "dsp" | "driver" | "sampling-budget" | "clock", name: string): Promise<XsWorker & { value<T>(op: string, args?: Record<string, unknown>): Promise<T> }> {
  const xs = await startXsWorker({ name });
  await xs.evaluate(await bundleFirmware(`firmware/sim/entries/${entry}-entry.ts`));
  return Object.assign(xs, {
    async value<T>(op: string, args: Record<string, unknown> = {}): Promise<T> {
      return (await xs.call<T>(op, args)).value;
    },
  });
}

/** deterministic Gaussian samples (mulberry32 + Box–Muller), host side */
export function gaussianSamples(count: number, seed: number, sd = 1): number[] {
  let state = seed >>> 0;
  const uniform = () => {
    let t = (state = (state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 1) / 4294967297;
  };
  const out: number[] = [];
  while (out.length < count) {
    const r = Math.sqrt(-2 * Math.log(uniform()));
    const a = 2 * Math.PI * uniform();
    out.push(sd * r * Math.cos(a), sd * r * Math.sin(a));
  }
  return out.slice(0, count);
}

/** analytic velocity RMS (mm/s) of acceleration tones [Hz, peak m/s²] inside [lowHz, highHz] */
export function analyticVrmsMmS(tones: [number, number][], lowHz = 10, highHz = 1000): number {
  let sum = 0;
  for (const [hz, amplitude] of tones) if (hz >= lowHz && hz <= highHz) sum += (amplitude / (2 * Math.PI * hz) / Math.SQRT2) ** 2;
  return Math.sqrt(sum) * 1000;
}
