// The analyzer's configuration seam: configure() changes only what it is given, a change of rate or
// window restarts the window (no window mixes two configurations), bad values are refused with an
// error naming the field, and a clipping window raises a "sensor" alert.
// Runs in Node (V8), where the native C core is not linked: the analyzer uses the TypeScript
// reference core here (dspCore "reference"); the policy under test is the same for both cores.
import { describe, expect, it } from "vitest";
import { VibrationAnalyzer, type WindowResult } from "../../firmware/dsp/analyzer.js";

function pushTone(analyzer: VibrationAnalyzer, samples: number, amplitudeMS2: number, hz = 100): WindowResult[] {
  const out: WindowResult[] = [];
  for (let i = 0; i < samples; i++) {
    const r = analyzer.push(amplitudeMS2 * Math.sin(2 * Math.PI * hz * (i / analyzer.config.sampleRateHz)), 0, 0);
    if (r) out.push({ ...r, alerts: r.alerts.map((a) => ({ ...a })) });
  }
  return out;
}

describe("analyzer configuration", () => {
  it("configure() changes only the given fields", () => {
    const analyzer = new VibrationAnalyzer({ dspCore: "reference", sampleRateHz: 3200, windowSamples: 512, hopSamples: 256, learningWindows: 3, machineClass: "1f", velocityAlarmMmS: 9 });
    analyzer.configure({ velocityWarnMmS: 5 });
    expect(analyzer.config).toMatchObject({ sampleRateHz: 3200, windowSamples: 512, hopSamples: 256, learningWindows: 3, machineClass: "1f", velocityAlarmMmS: 9, velocityWarnMmS: 5 });
  });

  it("a new window length restarts the window: the next result needs a full window of new samples", () => {
    const analyzer = new VibrationAnalyzer({ dspCore: "reference", sampleRateHz: 3200, windowSamples: 512, hopSamples: 512, learningWindows: 1 });
    expect(pushTone(analyzer, 400, 1)).toEqual([]);
    analyzer.configure({ windowSamples: 256, hopSamples: 256 });
    expect(pushTone(analyzer, 255, 1)).toEqual([]);
    expect(pushTone(analyzer, 1, 1)).toHaveLength(1);
  });

  it.each([
    [{ windowSamples: 1000 }, /windowSamples must be a power of two in 64..16384, got 1000/],
    [{ hopSamples: 0 }, /hopSamples must be an integer in 1..windowSamples \(512\), got 0/],
    [{ sampleRateHz: -5 }, /sampleRateHz must be > 0, got -5/],
    [{ machineClass: "3x" as never }, /machineClass must be 1r, 1f, 2r or 2f, got 3x/],
    [{ learningWindows: 1.5 }, /learningWindows must be an integer >= 0, got 1.5/],
    [{ velocityBandHz: [900, 100] as [number, number] }, /velocityBandHz \[900, 100\]/],
    [{ confirmWindows: 0 }, /confirmWindows must be an integer >= 1, got 0/],
  ])("refuses %j with an error naming the field, and keeps the old configuration", (bad, message) => {
    const analyzer = new VibrationAnalyzer({ dspCore: "reference", sampleRateHz: 3200, windowSamples: 512, hopSamples: 512, learningWindows: 1 });
    expect(() => analyzer.configure(bad)).toThrow(message);
    expect(analyzer.config.windowSamples).toBe(512);
    expect(pushTone(analyzer, 512, 1)).toHaveLength(1);
  });

  it("a window that reaches the sensor's full scale raises a sensor alert, and it clears when clipping stops", () => {
    const fullScale = 2 * 9.80665;
    const analyzer = new VibrationAnalyzer({ dspCore: "reference", sampleRateHz: 3200, windowSamples: 256, hopSamples: 256, learningWindows: 0, fullScaleMS2: fullScale });
    const quiet = pushTone(analyzer, 256 * 3, 5);
    expect(quiet.flatMap((w) => w.alerts).filter((a) => a.kind === "sensor")).toEqual([]);
    const clipping = pushTone(analyzer, 256 * 3, fullScale);
    expect(clipping.flatMap((w) => w.alerts).filter((a) => a.kind === "sensor").map((a) => a.level)).toEqual([2]);
    const after = pushTone(analyzer, 256 * 3, 5);
    expect(after.flatMap((w) => w.alerts).filter((a) => a.kind === "sensor").map((a) => a.level)).toEqual([0]);
  });
});
