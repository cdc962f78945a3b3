// End to end on the simulated board in XS: a synthetic machine whose bearing fault grows, read by
// the real driver through the FIFO, analysed on "the device": the baseline is learned on the healthy
// machine, then the anomaly score, the velocity and the ISO zone rise, and alerts fire once each.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFirmwareEntry, type WindowSummary } from "./xs-harness.js";

type Xs = Awaited<ReturnType<typeof startFirmwareEntry>>;

describe("growing bearing fault on the simulated board (XS)", () => {
  let xs: Xs;
  beforeAll(async () => {
    xs = await startFirmwareEntry("driver", "growing-fault");
  });
  afterAll(async () => {
    await xs?.close();
  });

  it("the healthy machine stays quiet; the growing fault raises the anomaly score and the zone, with one anomaly alert", async () => {
    const machine = {
      kind: "machine", runningSpeedHz: 24.5, imbalanceMS2: 0.25, misalignmentMS2: 0.3, bearingToneHz: 157, bearingMS2: 0.3,
      noiseMS2: 0.05, faultGrowthPerHour: 0, seed: 42,
    };
    await xs.value("setup", { part: "adxl345", signal: machine, rateHz: 3200, rangeG: 4 });
    await xs.value("sampler", { analyzer: { windowSamples: 2048, hopSamples: 2048, learningWindows: 8, anomalyAlarm: 4 } });
    await xs.value("advance", { ms: 12_000 });
    const healthy = await xs.value<{ windows: WindowSummary[]; overruns: number }>("windows");
    expect(healthy.overruns).toBe(0);
    expect(healthy.windows.length).toBeGreaterThanOrEqual(16);
    expect(healthy.windows.slice(0, 8).every((w) => w.anomaly === null)).toBe(true);
    const learned = healthy.windows.slice(8);
    expect(learned.every((w) => w.anomaly !== null && w.anomaly < 2)).toBe(true);
    expect(healthy.windows.flatMap((w) => w.alerts)).toEqual([]);
    const healthyZone = Math.max(...learned.map((w) => w.zone));

    // same seed and signal shape, a fault growing by 100% of its amplitude every 2 s of machine time
    await xs.value("stopSampler");
    await xs.value("setup", { part: "adxl345", signal: { ...machine, faultGrowthPerHour: 1800 }, rateHz: 3200, rangeG: 4 });
    await xs.value("sampler", { analyzer: { windowSamples: 2048, hopSamples: 2048, learningWindows: 8, anomalyAlarm: 4 } });
    await xs.value("advance", { ms: 40_000 });
    const faulty = await xs.value<{ windows: WindowSummary[]; overruns: number }>("windows");
    const late = faulty.windows.slice(-5);
    expect(late.every((w) => w.anomaly! > 4)).toBe(true);
    expect(Math.max(...late.map((w) => w.zone))).toBeGreaterThan(healthyZone);
    const anomalyAlerts = faulty.windows.flatMap((w) => w.alerts).filter((a) => a.kind === "anomaly");
    expect(anomalyAlerts).toHaveLength(1);
    expect(anomalyAlerts[0]!.level).toBe(2);
    await xs.value("stopSampler");
  });
});
