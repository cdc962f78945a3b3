// The anomaly baseline: Welford's online mean and spread equal the two-pass values; the score is
// null while learning, small for the machine it learned, large for a changed one; a pushed or
// persisted baseline works at once; a malformed baseline is refused with a clear error.
// Runs in Node (V8), where the native C core is not linked: the analyzer uses the TypeScript
// reference core here (dspCore "reference"); the policy under test is the same for both cores.
import { describe, expect, it } from "vitest";
import { WelfordBaseline } from "../../firmware/dsp/welford-baseline.js";
import { VibrationAnalyzer } from "../../firmware/dsp/analyzer.js";

function feedTone(analyzer: VibrationAnalyzer, windows: number, amplitude: number, seed: number) {
  const results = [];
  const n = analyzer.config.windowSamples * windows;
  let state = seed;
  for (let i = 0; i < n; i++) {
    state = (state * 1103515245 + 12345) % 2147483648;
    const noise = (state / 2147483648 - 0.5) * 0.2;
    const t = i / analyzer.config.sampleRateHz;
    const r = analyzer.push(amplitude * Math.sin(2 * Math.PI * 50 * t) + noise, 0.5 * Math.sin(2 * Math.PI * 100 * t) + noise, 9.81 + noise);
    if (r) results.push({ anomaly: r.anomaly, state: r.baselineState, alerts: r.alerts.map((a) => ({ ...a })) });
  }
  return results;
}

describe("anomaly baseline", () => {
  it("Welford's online mean and standard deviation equal the two-pass values", () => {
    const data = [[1, 10], [2, 12], [4, 9], [7, 15], [11, 11]];
    const baseline = new WelfordBaseline(2);
    for (const row of data) baseline.learn(Float64Array.from(row));
    const plain = baseline.toPlain();
    for (let f = 0; f < 2; f++) {
      const column = data.map((row) => row[f]!);
      const mean = column.reduce((a, b) => a + b, 0) / column.length;
      const sd = Math.sqrt(column.reduce((a, b) => a + (b - mean) ** 2, 0) / (column.length - 1));
      expect(plain.mean[f]).toBeCloseTo(mean, 12);
      expect(plain.sd[f]).toBeCloseTo(sd, 12);
    }
    expect(plain.n).toBe(5);
  });

  it("is null while learning, low on the learned machine, high when the vibration changes", () => {
    const analyzer = new VibrationAnalyzer({ dspCore: "reference", sampleRateHz: 3200, windowSamples: 512, hopSamples: 512, learningWindows: 8, anomalyAlarm: 4 });
    const learning = feedTone(analyzer, 8, 2, 1);
    expect(learning.every((w) => w.anomaly === null && w.state === 0)).toBe(true);
    const same = feedTone(analyzer, 4, 2, 2);
    expect(same.every((w) => w.state === 1 && w.anomaly !== null && w.anomaly < 2)).toBe(true);
    expect(same.flatMap((w) => w.alerts).filter((a) => a.kind === "anomaly")).toEqual([]);
    const changed = feedTone(analyzer, 4, 6, 3);
    expect(changed.every((w) => w.anomaly! > 4)).toBe(true);
    const raised = changed.flatMap((w) => w.alerts).filter((a) => a.kind === "anomaly");
    expect(raised).toHaveLength(1);
    expect(raised[0]!.level).toBe(2);
  });

  it("uses a pushed baseline at once (state 2) and round-trips getBaseline as plain data", () => {
    const learner = new VibrationAnalyzer({ dspCore: "reference", sampleRateHz: 3200, windowSamples: 512, hopSamples: 512, learningWindows: 6 });
    feedTone(learner, 6, 2, 4);
    const baseline = JSON.parse(JSON.stringify(learner.getBaseline()));
    expect(baseline.n).toBe(6);
    const device = new VibrationAnalyzer({ dspCore: "reference", sampleRateHz: 3200, windowSamples: 512, hopSamples: 512, learningWindows: 6, baseline });
    const first = feedTone(device, 1, 2, 5);
    expect(first[0]!.state).toBe(2);
    expect(first[0]!.anomaly).not.toBeNull();
  });

  it("refuses a baseline of the wrong shape or with a negative spread, naming the problem", () => {
    const analyzer = new VibrationAnalyzer({ dspCore: "reference", sampleRateHz: 3200, windowSamples: 512, hopSamples: 512, learningWindows: 6 });
    expect(() => analyzer.setBaseline({ mean: [1, 2], sd: [1, 1], n: 3 })).toThrow(/baseline needs 8 means and sds, got 2 and 2/);
    expect(() => analyzer.setBaseline({ mean: Array(8).fill(1), sd: [...Array(7).fill(1), -1], n: 3 })).toThrow(/baseline feature 7/);
  });
});
