// The native DSP core (firmware/dsp/native/dsp-core.c, float arithmetic) against the TypeScript
// reference (axis-features.ts + fft.ts, float64 between Float32Array stores) on the same int16
// input, and both against analytic answers: velocity RMS of in-band tones is a/(2πf)/√2; tones
// below (3 Hz) and above (1200 Hz) the velocity band reach it only through the Hann side lobes;
// clipped counts, gravity and offsets, noise, two rates and two window sizes; a hop smaller than
// the window, windows counted as the reference counts them.
// The core is compiled with the host `cc` and driven by dsp-core-cli.c (blocks of 32 samples, as
// the FIFO sampler pushes them). VW_DSP_CORE_SOURCE=/path/to/dsp-core.c compiles another copy of
// the core instead (to check that a changed constant fails this test).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VibrationAnalyzer } from "../../../firmware/dsp/analyzer.js";
import { AxisFeatures } from "../../../firmware/dsp/axis-features.js";
import { AXES } from "../../../firmware/dsp/dsp-core.js";
import { isoZone } from "../../../firmware/dsp/iso-zones.js";
import { ReferenceDspCore } from "../../../firmware/dsp/reference-core.js";

const NATIVE_DIR = fileURLToPath(new URL("../../../firmware/dsp/native/", import.meta.url));
const CORE_SOURCE = process.env.VW_DSP_CORE_SOURCE ?? join(NATIVE_DIR, "dsp-core.c");
const DRIVER_SOURCE = fileURLToPath(new URL("./dsp-core-cli.c", import.meta.url));
// The core must compute in float (the ESP32's FPU is single precision; double is software). With
// -Werror these two warnings make the build fail on implicit double maths: -Wdouble-promotion on a
// float promoted to double (x * 0.5, sqrt(x), a float passed to printf), -Wfloat-conversion on a
// double result narrowed back to float. An explicit (double) cast or a double variable is not caught.
const CC_FLAGS = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-Wdouble-promotion", "-Wfloat-conversion"];
const G = 9.80665;
/** ±16 g over int16, the analyzer's default count */
const COUNT_16G = (16 * G) / 32767;
const BLOCK_SAMPLES = 32;
const FEATURES = ["mean", "rms", "peak", "maxAbs", "kurtosis", "vrms", "bands"] as const;
type Feature = (typeof FEATURES)[number];
/** native vs reference, relative, per feature */
const RELATIVE_TOLERANCE = 0.005;
/**
 * Absolute floor, as a fraction of the largest value of that feature over the three axes: float32
 * rounding in the FFT and in the sums is relative to the whole window (x and y even share one FFT),
 * so a value that is only leakage or crosstalk (a silent y beside a loud x reads ~1e-7 of x) has a
 * relative error that says nothing about the core.
 */
const FLOOR_FRACTION = 1e-4;
/** in-band tones vs a/(2πf)/√2 */
const ANALYTIC_TOLERANCE = 0.02;
/** a trap alone vs its side-lobe leak, computed with the continuous Hann kernel */
const SIDE_LOBE_TOLERANCE = 0.05;
/** a trap alone, beyond its side-lobe leak, as a fraction of the case's in-band tone's velocity */
const TRAP_FLOOR_FRACTION = 0.01;

interface Tone { hz: number; ampMS2: number; phase?: number }
interface AxisSignal { tones?: Tone[]; noiseRmsMS2?: number; offsetMS2?: number }
interface Rig { rateHz: number; window: number; hop: number; countMS2: number }
interface Case {
  name: string;
  rig: Rig;
  axes: [AxisSignal, AxisSignal, AxisSignal];
  /** default: two windows and 17 samples (a third, incomplete window must not appear) */
  samples?: number;
  seed?: number;
}
type AxisResult = Record<Exclude<Feature, "bands">, number> & { bands: number[] };
interface WindowOut { window: number; end: number; axes: AxisResult[] }

const tone = (hz: number, ampMS2: number, phase = 0.3): Tone => ({ hz, ampMS2, phase });
/** the amplitude (m/s²) of a tone of `mmS` velocity RMS at `hz` */
const ampFor = (hz: number, mmS: number) => (mmS / 1000) * 2 * Math.PI * hz * Math.SQRT2;
const analyticVrmsMmS = (tones: Tone[]) => Math.sqrt(tones.reduce((sum, t) => sum + (t.ampMS2 / (2 * Math.PI * t.hz) / Math.SQRT2) ** 2, 0)) * 1000;

const RIGS = {
  "3200 Hz, N 2048": { rateHz: 3200, window: 2048, hop: 2048, countMS2: COUNT_16G },
  "3200 Hz, N 1024": { rateHz: 3200, window: 1024, hop: 1024, countMS2: COUNT_16G },
  "5376 Hz, N 2048": { rateHz: 5376, window: 2048, hop: 2048, countMS2: COUNT_16G },
} satisfies Record<string, Rig>;

/** the same signals on every rig; velocities chosen away from the ISO zone limits (2r and 1r) */
const SIGNALS: { name: string; axes: Case["axes"]; seed?: number }[] = [
  { name: "tones 12, 20, 50 Hz", axes: [{ tones: [tone(12, ampFor(12, 1.0))] }, { tones: [tone(20, ampFor(20, 2.0), 1.1)] }, { tones: [tone(50, ampFor(50, 3.5), 2.0)], offsetMS2: G }] },
  { name: "tones 160, 400, 900 Hz", axes: [{ tones: [tone(160, ampFor(160, 6.0))] }, { tones: [tone(400, ampFor(400, 9.0), 0.7)] }, { tones: [tone(900, ampFor(900, 2.0), 1.9)], offsetMS2: G }] },
  { name: "tones 990 Hz", axes: [{ tones: [tone(990, ampFor(990, 3.5))] }, { tones: [tone(990, ampFor(990, 1.0), 1.4)] }, { tones: [tone(990, ampFor(990, 6.0), 2.6)], offsetMS2: G }] },
  // the 3 Hz sway alone, added to an 80 Hz tone, and the 80 Hz tone alone (the in-band reference)
  { name: "3 Hz trap", axes: [{ tones: [tone(3, 30)] }, { tones: [tone(80, 3), tone(3, 30, 1.2)] }, { tones: [tone(80, 3)], offsetMS2: G }] },
  { name: "1200 Hz trap", axes: [{ tones: [tone(1200, 20)] }, { tones: [tone(160, 5), tone(1200, 20, 0.9)] }, { tones: [tone(160, 5)], offsetMS2: G }] },
  { name: "two-tone mixtures", axes: [{ tones: [tone(25, 2), tone(400, 6, 1)] }, { tones: [tone(60, 1), tone(700, 8, 2)] }, { tones: [tone(120, 3), tone(240, 3, 0.5)], offsetMS2: G }] },
  { name: "white noise", seed: 7, axes: [{ noiseRmsMS2: 1 }, { noiseRmsMS2: 2 }, { noiseRmsMS2: 0.5, offsetMS2: G }] },
  // 240 m/s² against a ±16 g (156.9 m/s²) full scale: counts saturate at 32767 / -32768
  { name: "clipped tone", axes: [{ tones: [tone(160, 240)] }, { tones: [tone(100, 4)] }, { tones: [tone(50, 2)], offsetMS2: G }] },
  { name: "offsets and gravity", seed: 11, axes: [{ tones: [tone(100, 2)], offsetMS2: -0.8 }, { tones: [tone(250, 3)], offsetMS2: 1.2, noiseRmsMS2: 0.05 }, { tones: [tone(70, 1)], offsetMS2: G + 0.35 }] },
];

const CASES: Case[] = [
  ...Object.entries(RIGS).flatMap(([rigName, rig]) => SIGNALS.map((s) => ({ ...s, name: `${rigName}: ${s.name}`, rig }))),
  // a hop smaller than the window, not a multiple of the 32-sample block: windows at N, then every hop
  { name: "3200 Hz, N 1024, hop 500: mixtures and noise", rig: { ...RIGS["3200 Hz, N 1024"], hop: 500 }, samples: 1024 + 5 * 500 + 37, seed: 3,
    axes: [{ tones: [tone(25, 2), tone(400, 6, 1)], noiseRmsMS2: 0.2 }, { tones: [tone(160, 5)] }, { tones: [tone(50, 2)], offsetMS2: G, noiseRmsMS2: 0.1 }] },
  { name: "5376 Hz, N 2048, hop 768: tones", rig: { ...RIGS["5376 Hz, N 2048"], hop: 768 }, samples: 2048 + 3 * 768 + 5,
    axes: [{ tones: [tone(20, ampFor(20, 3.5))] }, { tones: [tone(990, ampFor(990, 6.0))] }, { tones: [tone(160, 5), tone(3, 30)], offsetMS2: G }] },
];

/** mulberry32: a seeded uniform PRNG in [0, 1) */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** interleaved x, y, z counts: round(value / countMS2), saturated to int16 (as the analyzer does) */
function generate(c: Case): { counts: Int16Array; saturated: boolean[] } {
  const samples = c.samples ?? 2 * c.rig.window + 17;
  const uniform = prng(c.seed ?? 1);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  const counts = new Int16Array(samples * AXES);
  const saturated = [false, false, false];
  for (let i = 0; i < samples; i++) {
    const t = i / c.rig.rateHz;
    c.axes.forEach((axis, a) => {
      let value = axis.offsetMS2 ?? 0;
      for (const { hz, ampMS2, phase = 0 } of axis.tones ?? []) value += ampMS2 * Math.sin(2 * Math.PI * hz * t + phase);
      if (axis.noiseRmsMS2) value += axis.noiseRmsMS2 * gaussian();
      const rounded = Math.round(value / c.rig.countMS2);
      if (rounded > 32767 || rounded < -32768) saturated[a] = true;
      counts[i * AXES + a] = Math.min(32767, Math.max(-32768, rounded));
    });
  }
  return { counts, saturated };
}

/** the velocity band and band edges the analyzer gives the core for this rig */
function bandsFor(rig: Rig): { bandHz: [number, number]; edges: number[] } {
  const analyzer = new VibrationAnalyzer({ sampleRateHz: rig.rateHz, windowSamples: rig.window, hopSamples: rig.hop, learningWindows: 0, sampleQuantumMS2: rig.countMS2, dspCore: "reference" });
  return { bandHz: [...analyzer.result.bandHz], edges: [...analyzer.result.bandEdgesHz] };
}

/** the reference's window accounting: sample counts at which its core completes a window */
function referenceWindowEnds(rig: Rig, counts: Int16Array, edges: number[], bandHz: [number, number]): number[] {
  const core = new ReferenceDspCore();
  core.configure({ windowSamples: rig.window, hopSamples: rig.hop, sampleRateHz: rig.rateHz, countMS2: rig.countMS2, bandHz, bandEdgesHz: edges });
  const out = new Float32Array(AXES * 14);
  const ends: number[] = [];
  const samples = counts.length / AXES;
  for (let start = 0; start < samples; start += BLOCK_SAMPLES) {
    const count = Math.min(BLOCK_SAMPLES, samples - start);
    for (let offset = 0; offset < count;) {
      offset += core.push(counts, start + offset, count - offset);
      if (core.analyse(out)) ends.push(start + offset);
    }
  }
  return ends;
}

/** AxisFeatures on the window that ends (exclusive) at sample `end`, as the analyzer calls it: x with y, z alone */
function referenceWindow(features: AxisFeatures, rig: Rig, counts: Int16Array, end: number, bandCount: number): AxisResult[] {
  const n = rig.window;
  const rings = [new Int16Array(n), new Int16Array(n), new Int16Array(n)] as const;
  for (let s = end - n; s < end; s++) rings.forEach((ring, a) => (ring[s % n] = counts[s * AXES + a]!));
  const head = end % n;
  const bands = [new Float32Array(bandCount), new Float32Array(bandCount), new Float32Array(bandCount)] as const;
  const take = (slot: number, axis: number): AxisResult => {
    const s = features.stats;
    return { mean: s.mean[slot]!, rms: s.rms[slot]!, peak: s.peak[slot]!, maxAbs: s.maxAbs[slot]!, kurtosis: s.kurtosis[slot]!, vrms: s.velocityRmsMmS[slot]!, bands: [...bands[axis]!] };
  };
  features.analyse(rings[0], rings[1], head, rig.countMS2, bands[0], bands[1]);
  const x = take(0, 0);
  const y = take(1, 1);
  features.analyse(rings[2], null, head, rig.countMS2, bands[2], null);
  return [x, y, take(0, 2)];
}

/**
 * The velocity RMS (mm/s) a tone outside the band leaks into it through the Hann window's side
 * lobes, [lower, upper]. The windowed tone's DFT is (aN/4)·(W(k − k0)·e^jφ + W(k + k0)·e^−jφ') (the
 * tone and its negative-frequency image; the window's mean stays in bins 0 and ±1), with
 * W(d) = sinc(d)/(1 − d²) the normalised periodic Hann kernel (the discrete one differs by O(1/N)).
 * With rms² = 2Σ|X[k]|²/(N·Σw²), Σw² = 3N/8 and V = A/(2πf):
 * vrms² = (a²/3)·Σ_band |W(k − k0)e^jφ + W(k + k0)e^−jφ'|² / (2πf_k)², between the sums of
 * (|W−| − |W+|)² and (|W−| + |W+|)² (the phases depend on where the window starts).
 */
function sideLobeLeakMmS(t: Tone, rig: Rig, bandHz: readonly [number, number]): [number, number] {
  const binHz = rig.rateHz / rig.window;
  const k0 = t.hz / binHz;
  const kernel = (d: number) => {
    const x = Math.abs(d);
    if (x < 1e-9) return 1;
    if (Math.abs(x - 1) < 1e-9) return 0.5;
    return Math.abs(Math.sin(Math.PI * x) / (Math.PI * x) / (1 - x * x));
  };
  const low = Math.max(1, Math.ceil(bandHz[0] / binHz));
  const high = Math.min(rig.window / 2 - 1, Math.floor(bandHz[1] / binHz));
  let lower = 0;
  let upper = 0;
  for (let k = low; k <= high; k++) {
    const tone = kernel(k - k0);
    const image = kernel(k + k0);
    const omegaSquared = (2 * Math.PI * k * binHz) ** 2;
    lower += (tone - image) ** 2 / omegaSquared;
    upper += (tone + image) ** 2 / omegaSquared;
  }
  const scale = (t.ampMS2 / Math.sqrt(3)) * 1000;
  return [scale * Math.sqrt(lower), scale * Math.sqrt(upper)];
}

/** worst relative error (above the floor) per feature over all cases, and the traps, for the record */
const worst = new Map<Feature, { error: number; where: string }>();
const traps: string[] = [];

function compareFeature(feature: Feature, native: number[], reference: number[], floor: number, where: string): void {
  for (let i = 0; i < native.length; i++) {
    const n = native[i]!;
    const r = reference[i]!;
    const difference = Math.abs(n - r);
    const label = `${where}, ${feature}[${i}]: native ${n}, reference ${r}`;
    expect(difference, label).toBeLessThanOrEqual(Math.max(RELATIVE_TOLERANCE * Math.abs(r), floor));
    if (Math.abs(r) > floor) {
      const error = difference / Math.abs(r);
      if (error > (worst.get(feature)?.error ?? -1)) worst.set(feature, { error, where: label });
    }
  }
}

describe("native DSP core known answers (C, float) against the TypeScript reference (float64)", () => {
  let dir = "";
  let binary = "";

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "vw-dsp-core-"));
    binary = join(dir, "dsp-core-cli");
    const build = spawnSync("cc", [...CC_FLAGS, "-I", NATIVE_DIR, CORE_SOURCE, DRIVER_SOURCE, "-o", binary, "-lm"], { encoding: "utf8" });
    if (build.error) throw new Error(`cannot run the host C compiler cc: ${build.error.message}`);
    if (build.status !== 0) throw new Error(`cc failed (${build.status}):\n${build.stderr}`);
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (process.env.VW_DSP_CORE_REPORT) {
      for (const [feature, { error, where }] of worst) console.info(`worst ${feature}: ${(error * 100).toExponential(2)} % (${where})`);
      for (const trap of traps) console.info(trap);
    }
  });

  function runNative(c: Case, counts: Int16Array, bandHz: [number, number], edges: number[]): WindowOut[] {
    const { window, hop, rateHz, countMS2 } = c.rig;
    const input = Buffer.alloc(counts.length * 2);
    counts.forEach((value, i) => input.writeInt16LE(value, i * 2));
    const run = spawnSync(binary, [window, hop, rateHz, countMS2, ...bandHz, ...edges].map(String), { input, encoding: "utf8", maxBuffer: 16 << 20 });
    expect(run.status, run.stderr).toBe(0);
    return run.stdout.trim().split("\n").filter(Boolean).map((line) => JSON.parse(line) as WindowOut);
  }

  it("the build flags reject implicit double arithmetic (so the core compiled above is float-only)", () => {
    const cases = { "x * 0.5": "float f(float x) { return x * 0.5; }", "sqrt(x)": "#include <math.h>\nfloat f(float x) { return sqrt(x); }" };
    for (const [name, source] of Object.entries(cases)) {
      const file = join(dir, "double-maths.c");
      writeFileSync(file, `${source}\n`);
      const build = spawnSync("cc", [...CC_FLAGS, "-c", file, "-o", join(dir, "double-maths.o")], { encoding: "utf8" });
      expect(build.status, `${name} compiled`).not.toBe(0);
      expect(build.stderr).toMatch(/double-promotion|float-conversion/);
    }
    writeFileSync(join(dir, "float-maths.c"), "#include <math.h>\nfloat f(float x) { return sqrtf(x * 0.5f); }\n");
    expect(spawnSync("cc", [...CC_FLAGS, "-c", join(dir, "float-maths.c"), "-o", join(dir, "float-maths.o")]).status).toBe(0);
  });

  // A still sensor: z reads gravity only, the same count in every sample. dsp-core.h promises 0
  // for a flat window; the core sums counts as integers, so its mean is exact and every d is 0.
  const flat: Case = { name: "flat z", rig: RIGS["3200 Hz, N 2048"], axes: [{ tones: [tone(100, 2)] }, {}, { offsetMS2: G }] };

  it("a flat window (gravity only, no vibration) reads 0 rms, peak, kurtosis, velocity and bands", () => {
    const { bandHz, edges } = bandsFor(flat.rig);
    const { counts } = generate(flat);
    const native = runNative(flat, counts, bandHz, edges);
    expect(native).toHaveLength(2);
    for (const out of native) {
      const z = out.axes[2]!;
      expect(z.mean).toBeCloseTo(G, 2);
      expect(z.maxAbs).toBe(z.mean);
      expect([z.rms, z.peak, z.kurtosis, z.vrms, ...z.bands]).toEqual(new Array(4 + edges.length - 1).fill(0));
    }
  });

  // The reference once averaged count × ringScale in float64, so a flat window kept a residual
  // d ≈ 1e-13 m/s² and read kurtosis 1 (and rms ≈ 1e-13) instead of 0; it now sums the raw counts.
  it("the TypeScript reference also reads kurtosis 0 on a flat window", () => {
    const { bandHz, edges } = bandsFor(flat.rig);
    const { counts } = generate(flat);
    const features = new AxisFeatures(flat.rig.window, flat.rig.rateHz, bandHz, edges);
    expect(referenceWindow(features, flat.rig, counts, flat.rig.window, edges.length - 1)[2]!.kurtosis).toBe(0);
  });

  it.each(CASES.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const { bandHz, edges } = bandsFor(c.rig);
    const { counts, saturated } = generate(c);
    const native = runNative(c, counts, bandHz, edges);

    // window accounting: after N samples, then every hop; as the reference core counts them
    const samples = counts.length / AXES;
    const expectedEnds: number[] = [];
    for (let end = c.rig.window; end <= samples; end += c.rig.hop) expectedEnds.push(end);
    expect(native.map((w) => w.end)).toEqual(expectedEnds);
    expect(referenceWindowEnds(c.rig, counts, edges, bandHz)).toEqual(expectedEnds);

    const features = new AxisFeatures(c.rig.window, c.rig.rateHz, bandHz, edges);
    const binHz = c.rig.rateHz / c.rig.window;
    for (const out of native) {
      const reference = referenceWindow(features, c.rig, counts, out.end, edges.length - 1);
      const where = `${c.name}, window ${out.window}`;
      for (const feature of FEATURES) {
        const values = (axes: AxisResult[]) => axes.map((a) => (feature === "bands" ? a.bands : [a[feature]]));
        const referenceValues = values(reference);
        const scale = Math.max(...referenceValues.flat().map(Math.abs), ...(feature === "mean" ? reference.map((a) => a.rms) : []));
        values(out.axes).forEach((nativeAxis, a) => compareFeature(feature, nativeAxis, referenceValues[a]!, FLOOR_FRACTION * scale, `${where}, axis ${a}`));
      }
      const vmax = (axes: AxisResult[]) => Math.max(...axes.map((a) => a.vrms));
      for (const machineClass of ["2r", "1r"] as const) {
        expect(isoZone(vmax(out.axes), machineClass), `${where}: zone ${machineClass}`).toBe(isoZone(vmax(reference), machineClass));
      }

      // analytic answers, on axes without noise or clipping whose tones are clear of the band's edges
      // (the Hann main lobe is ±2 bins wide; a tone nearer an edge is partly counted: not checked).
      // In-band tones count a/(2πf)/√2; tones outside the band count 0 but leak through the Hann
      // side lobes (sideLobeLeakMmS; on other bins than the in-band tones', so the powers add).
      const inBand = (t: Tone) => t.hz >= bandHz[0] + 2 * binHz && t.hz <= bandHz[1] - 2 * binHz;
      const outside = (t: Tone) => t.hz < bandHz[0] - 2 * binHz || t.hz > bandHz[1] + 2 * binHz;
      const clean = c.axes.map((axis, a) => !axis.noiseRmsMS2 && !saturated[a] && (axis.tones ?? []).every((t) => inBand(t) || outside(t)));
      const inBandVrms = c.axes.map((axis) => analyticVrmsMmS((axis.tones ?? []).filter(inBand)));
      const inBandReference = Math.max(...inBandVrms);
      c.axes.forEach((axis, a) => {
        if (!clean[a] || !axis.tones?.length) return;
        const expected = inBandVrms[a]!;
        const leaks = axis.tones.filter(outside).map((t) => sideLobeLeakMmS(t, c.rig, bandHz));
        const leakLow = leaks.length === 1 ? leaks[0]![0] : 0;
        const leakHigh = leaks.reduce((sum, [, high]) => sum + high, 0);
        for (const [core, v] of [["native", out.axes[a]!.vrms], ["reference", reference[a]!.vrms]] as const) {
          const label = `${where}, axis ${a}, ${core}: vrms ${v} mm/s; in-band tones ${expected}, side lobes ${leakLow}…${leakHigh}`;
          if (expected > 0) {
            expect(v, label).toBeGreaterThanOrEqual(Math.hypot(expected, leakLow) * (1 - ANALYTIC_TOLERANCE));
            expect(v, label).toBeLessThanOrEqual(Math.hypot(expected, leakHigh) * (1 + ANALYTIC_TOLERANCE));
          } else {
            // a trap alone: what the side lobes let through (±5 %: the continuous kernel), plus 1 % of the
            // case's in-band tone for quantisation noise; nothing else of it is counted
            expect(inBandReference).toBeGreaterThan(0);
            expect(v, label).toBeGreaterThanOrEqual(leakLow * (1 - SIDE_LOBE_TOLERANCE));
            expect(v, label).toBeLessThanOrEqual(leakHigh * (1 + SIDE_LOBE_TOLERANCE) + TRAP_FLOOR_FRACTION * inBandReference);
            if (core === "native") traps.push(`${where}, axis ${a}: trap ${v.toPrecision(3)} mm/s = ${((100 * v) / inBandReference).toFixed(2)} % of the in-band tone's ${inBandReference.toPrecision(3)}; side lobes ${leakLow.toPrecision(3)}…${leakHigh.toPrecision(3)}`);
          }
        }
      });
    }
  });
});
