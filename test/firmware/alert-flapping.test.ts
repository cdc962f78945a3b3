// Alerts must not flap: a value jittering around a threshold raises one alert, not one per window;
// it clears only below the deadband; alerts report state changes only.
// Runs in Node (V8), where the native C core is not linked: the analyzer uses the TypeScript
// reference core here (dspCore "reference"); the policy under test is the same for both cores.
import { describe, expect, it } from "vitest";
import { HysteresisAlarm } from "../../firmware/dsp/hysteresis.js";
import { VibrationAnalyzer } from "../../firmware/dsp/analyzer.js";

describe("alert hysteresis", () => {
  it("a value rising through the limit with ±0.15 jitter changes state once", () => {
    const alarm = new HysteresisAlarm(0.1, 2);
    let changes = 0;
    for (let i = 0; i <= 100; i++) if (alarm.update(4.0 + i * 0.01 + (i % 2 ? 0.15 : -0.15), 0, 4.5)) changes++;
    expect(changes).toBe(1);
    expect(alarm.level).toBe(2);
  });

  it("clears only below limit × (1 − deadband), after confirmWindows windows", () => {
    const alarm = new HysteresisAlarm(0.1, 2);
    alarm.update(5, 0, 4.5);
    alarm.update(5, 0, 4.5);
    expect(alarm.level).toBe(2);
    expect(alarm.update(4.1, 0, 4.5)).toBe(false);
    expect(alarm.update(4.1, 0, 4.5)).toBe(false);
    expect(alarm.update(4.0, 0, 4.5)).toBe(false);
    expect(alarm.update(4.0, 0, 4.5)).toBe(true);
    expect(alarm.level).toBe(0);
  });

  it("a single-window spike does not raise an alert", () => {
    const alarm = new HysteresisAlarm(0.1, 2);
    expect([1, 9, 1, 1].map((v) => alarm.update(v, 0, 4.5))).toEqual([false, false, false, false]);
  });

  it("the analyzer reports zone and fixed-threshold alerts as state changes only", () => {
    const analyzer = new VibrationAnalyzer({
      dspCore: "reference",
      sampleRateHz: 3200, windowSamples: 256, hopSamples: 256, learningWindows: 0, velocityWarnMmS: 3, velocityAlarmMmS: 6,
    });
    const alerts: { kind: string; level: number }[] = [];
    const run = (amplitudeMS2: number, windows: number) => {
      for (let i = 0; i < 256 * windows; i++) {
        const r = analyzer.push(amplitudeMS2 * Math.sin(2 * Math.PI * 100 * (i / 3200)), 0, 0);
        if (r) for (const a of r.alerts) alerts.push({ kind: a.kind, level: a.level });
      }
    };
    run(1, 4); // ≈1.1 mm/s: zone A, no alert
    expect(alerts).toEqual([]);
    run(5, 6); // ≈5.6 mm/s: zone D (2r), vrms warning
    expect(alerts).toEqual([{ kind: "zone", level: 2 }, { kind: "vrms", level: 1 }]);
    run(1, 6);
    expect(alerts.slice(2)).toEqual([{ kind: "zone", level: 0 }, { kind: "vrms", level: 0 }]);
  });
});

describe("zone alert at an exact boundary", () => {
  it("a velocity exactly at the B/C boundary (2.8 mm/s, group 2 rigid) raises no zone alert; just above it does", () => {
    const alarm = new HysteresisAlarm(0.1, 1, true);
    expect(alarm.update(2.8, 2.8, 4.5)).toBe(false);
    expect(alarm.update(2.8000001, 2.8, 4.5)).toBe(true);
    expect(alarm.level).toBe(1);
  });

  it("the analyzer applies hysteresis settings given at construction", () => {
    const analyzer = new VibrationAnalyzer({
      dspCore: "reference",
      sampleRateHz: 3200, windowSamples: 256, hopSamples: 256, learningWindows: 0, velocityAlarmMmS: 3, confirmWindows: 1,
    });
    let first: string | undefined;
    for (let i = 0; i < 256 && first === undefined; i++) {
      const r = analyzer.push(5 * Math.sin(2 * Math.PI * 100 * (i / 3200)), 0, 0);
      if (r) first = r.alerts.map((a) => `${a.kind}:${a.level}`).join(",");
    }
    expect(first).toBe("zone:2,vrms:2"); // confirmWindows 1: the first window already alerts
  });
});
