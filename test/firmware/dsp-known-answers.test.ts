// The firmware DSP in the real XS engine against signals with known answers: velocity RMS of tones
// and tone mixes (v = a / 2πf), no leakage from 3 Hz, kurtosis of a sine and of Gaussian noise,
// acceleration RMS, band limits, window and hop accounting.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { analyticVrmsMmS, gaussianSamples, startFirmwareEntry, type WindowSummary } from "./xs-harness.js";

type Xs = Awaited<ReturnType<typeof startFirmwareEntry>>;
type Tone = [number, number, number?];

describe("firmware DSP known answers (XS)", () => {
  let xs: Xs;
  beforeAll(async () => {
    xs = await startFirmwareEntry("dsp", "dsp-known-answers");
  });
  afterAll(async () => {
    await xs?.close();
  });

  async function analyse(axes: [Tone[], Tone[], Tone[]], options: { rate?: number; window?: number; offset?: number[] } = {}): Promise<WindowSummary> {
    const rate = options.rate ?? 3200;
    const window = options.window ?? 4096;
    await xs.value("init", { config: { sampleRateHz: rate, windowSamples: window, hopSamples: window, learningWindows: 1 } });
    const windows = await xs.value<WindowSummary[]>("tones", { axes, count: window, offset: options.offset });
    expect(windows).toHaveLength(1);
    return windows[0]!;
  }

  it.each([20, 50, 160, 400, 900])("velocity RMS of a %d Hz tone is within 5%% of a/(2πf)/√2", async (hz) => {
    const w = await analyse([[[hz, 4, 0.3]], [], []]);
    const expected = analyticVrmsMmS([[hz, 4]]);
    expect(Math.abs(w.vrms[0]! - expected) / expected).toBeLessThan(0.05);
    // x and y share one FFT, in float32 in the native core: what leaks into the empty y axis is
    // at float precision (~1e-7 of x), not a real component
    expect(w.vrms[1]).toBeLessThan(1e-5 * expected);
  });

  it("velocity RMS of sums of tones matches the analytic value on each axis", async () => {
    const x: [number, number][] = [[25, 2], [120, 4], [400, 6]];
    const y: [number, number][] = [[15, 1], [700, 8]];
    const z: [number, number][] = [[60, 3], [240, 3]];
    const w = await analyse([x.map(([f, a]) => [f, a, 0.1]), y.map(([f, a]) => [f, a, 1]), z.map(([f, a]) => [f, a, 2])], { offset: [0, 0, 9.80665] });
    [x, y, z].forEach((tones, axis) => {
      const expected = analyticVrmsMmS(tones);
      expect(Math.abs(w.vrms[axis]! - expected) / expected).toBeLessThan(0.05);
    });
  });

  it("a large 3 Hz component changes velocity RMS by less than 5% (no leakage below the band)", async () => {
    const clean = await analyse([[[80, 3]], [], []]);
    const withSway = await analyse([[[80, 3], [3, 30]], [], []]);
    expect(Math.abs(withSway.vrms[0]! - clean.vrms[0]!) / clean.vrms[0]!).toBeLessThan(0.05);
    // the 3 Hz tone alone would be ~1.1 m/s velocity RMS if it leaked: it is excluded
    const swayOnly = await analyse([[[3, 30]], [], []]);
    expect(swayOnly.vrms[0]).toBeLessThan(0.05 * clean.vrms[0]!);
  });

  it("excludes tones above the band and states the band it used", async () => {
    const w = await analyse([[[1200, 5]], [[100, 5]], []]);
    expect(w.bandHz).toEqual([10, 1000]);
    expect(w.vrms[0]).toBeLessThan(0.05 * analyticVrmsMmS([[1000, 5]]));
    const slow = await analyse([[[100, 5]], [], []], { rate: 1344, window: 2048 });
    expect(slow.bandHz).toEqual([10, 525]);
    expect(Math.abs(slow.vrms[0]! - analyticVrmsMmS([[100, 5]])) / analyticVrmsMmS([[100, 5]])).toBeLessThan(0.05);
  });

  it("kurtosis of a sine is 1.5 and crest factor √2; gravity (DC) is removed from RMS", async () => {
    const w = await analyse([[], [], [[50, 2]]], { offset: [0, 0, 9.80665] });
    expect(w.dominantAxis).toBe(2);
    expect(w.kurtosis).toBeCloseTo(1.5, 2);
    expect(w.crest).toBeCloseTo(Math.SQRT2, 2);
    expect(w.arms[2]).toBeCloseTo(2 / Math.SQRT2, 3);
    expect(w.arms[0]).toBe(0);
  });

  it("kurtosis of Gaussian noise is 3 (within sampling error) and its RMS is its standard deviation", async () => {
    const n = 8192;
    await xs.value("init", { config: { sampleRateHz: 3200, windowSamples: n, hopSamples: n, learningWindows: 1 } });
    const noise = gaussianSamples(n, 7, 2);
    const samples: number[] = [];
    for (const v of noise) samples.push(v, 0, 0);
    const [w] = await xs.value<WindowSummary[]>("push", { samples });
    // standard error of sample kurtosis ≈ √(24/n) ≈ 0.054 for n = 8192
    expect(Math.abs(w!.kurtosis - 3)).toBeLessThan(0.2);
    expect(Math.abs(w!.arms[0]! - 2) / 2).toBeLessThan(0.03);
  });

  it("band energies add up to the in-band acceleration RMS of the dominant axis", async () => {
    const w = await analyse([[[30, 2], [150, 3], [700, 4]], [], []]);
    expect(w.bandEdgesHz).toEqual([10, 50, 100, 200, 500, 1000]);
    const total = Math.sqrt(w.bands.reduce((sum, b) => sum + b * b, 0));
    expect(total).toBeCloseTo(Math.sqrt((2 ** 2 + 3 ** 2 + 4 ** 2) / 2), 1);
    expect(w.bands[0]).toBeCloseTo(2 / Math.SQRT2, 1); // 10–50 Hz holds the 30 Hz tone
    expect(w.bands[4]).toBeCloseTo(4 / Math.SQRT2, 1); // 500–1000 Hz holds the 700 Hz tone
  });

  it("keeping the window as int16 sensor counts (sampleQuantumMS2) gives the same answers within the quantisation", async () => {
    const config = { sampleRateHz: 3200, windowSamples: 2048, hopSamples: 2048, learningWindows: 1 };
    const axes = [[[60, 4, 0.2]], [[310, 2]], [[45, 1]]];
    await xs.value("init", { config });
    const [float] = await xs.value<WindowSummary[]>("tones", { axes, count: 2048, offset: [0, 0, 9.80665] });
    await xs.value("init", { config: { ...config, sampleQuantumMS2: 9.80665 / 256 } });
    const [counts] = await xs.value<WindowSummary[]>("tones", { axes, count: 2048, offset: [0, 0, 9.80665] });
    for (let a = 0; a < 3; a++) {
      expect(Math.abs(counts!.vrms[a]! - float!.vrms[a]!) / float!.vrms[a]!).toBeLessThan(0.01);
      expect(Math.abs(counts!.arms[a]! - float!.arms[a]!)).toBeLessThan(0.02);
    }
    expect(Math.abs(counts!.vrms[0]! - analyticVrmsMmS([[60, 4]])) / analyticVrmsMmS([[60, 4]])).toBeLessThan(0.05);
  });

  it("each axis gives the same answers for the same signal (x and y share an FFT; z takes the half-size real FFT)", async () => {
    const tones: Tone[] = [[17, 2, 0.3], [96, 3, 1], [640, 4, 2]];
    const w = await analyse([tones, tones, tones], { offset: [0, 0, 9.80665] });
    const expected = analyticVrmsMmS([[17, 2], [96, 3], [640, 4]]);
    for (let a = 0; a < 3; a++) expect(Math.abs(w.vrms[a]! - expected) / expected).toBeLessThan(0.05);
    expect(w.vrms[2]).toBeCloseTo(w.vrms[0]!, 3);
    // z dominant: its band energies are reported
    const z = await analyse([[[96, 1]], [], [[30, 2], [150, 3], [700, 4]]]);
    expect(z.dominantAxis).toBe(2);
    expect(z.bands[0]).toBeCloseTo(2 / Math.SQRT2, 1);
    expect(z.bands[2]).toBeCloseTo(3 / Math.SQRT2, 1);
    expect(z.bands[4]).toBeCloseTo(4 / Math.SQRT2, 1);
  });

  it("emits the first window after windowSamples and then one per hop", async () => {
    await xs.value("init", { config: { sampleRateHz: 3200, windowSamples: 1024, hopSamples: 256, learningWindows: 1 } });
    const windows = await xs.value<WindowSummary[]>("tones", { axes: [[[50, 1]], [], []], count: 1024 + 256 * 5 + 100 });
    expect(windows.map((w) => w.window)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("rejects a window that is not a power of two with a clear error", async () => {
    await expect(xs.call("init", { config: { sampleRateHz: 3200, windowSamples: 1000, hopSamples: 1000, learningWindows: 1 } }))
      .rejects.toThrow(/windowSamples must be a power of two/);
  });
});
