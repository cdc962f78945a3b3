// FIFO overrun: when the firmware falls behind and the sensor FIFO fills, the overrun is detected,
// counted, the FIFO restarted, and no window that spans the gap is ever reported as valid.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { analyticVrmsMmS, startFirmwareEntry, type WindowSummary } from "./xs-harness.js";

type Xs = Awaited<ReturnType<typeof startFirmwareEntry>>;
interface Collected { windows: WindowSummary[]; overruns: number; busErrors: number; errors: string[]; samples: number }
const tone = { kind: "tones", axes: [[[120, 5]], [], []], offsetMS2: [0, 0, 9.80665] };

describe("FIFO overrun (XS, register models)", () => {
  let xs: Xs;
  beforeAll(async () => {
    xs = await startFirmwareEntry("driver", "fifo-overrun");
  });
  afterAll(async () => {
    await xs?.close();
  });

  it.each([["lis3dh", 1344], ["adxl345", 3200]] as const)("%s: a read after the FIFO filled reports an overrun and restarts the FIFO", async (part, rateHz) => {
    await xs.value("setup", { part, signal: tone, rateHz });
    await xs.value("advance", { ms: 100 });
    expect((await xs.value<{ lostSamples: number }>("model")).lostSamples).toBeGreaterThan(0);
    expect((await xs.value<{ count: number }>("readFifo")).count).toBe(-1);
    expect((await xs.value<{ fifoCount: number }>("model")).fifoCount).toBe(0);
    await xs.value("advance", { ms: 5 }); // < 32 samples at either rate
    const next = await xs.value<{ count: number }>("readFifo");
    expect(next.count).toBeGreaterThan(0);
    expect(next.count).toBeLessThan(32);
  });

  it("the sampler counts the overrun and drops the partial window: the next window holds only fresh samples", async () => {
    await xs.value("setup", { part: "adxl345", signal: tone, rateHz: 3200 });
    // polls by hand: 5 ms at 3200 Hz is 16 samples per poll
    await xs.value("sampler", { analyzer: { windowSamples: 256, hopSamples: 256, learningWindows: 1 }, pollMs: 1e9 });
    for (let i = 0; i < 10; i++) {
      await xs.value("advance", { ms: 5 });
      await xs.value("poll");
    }
    await xs.value("advance", { ms: 30 }); // a stall: 96 samples arrive, the 32-level FIFO overflows
    await xs.value("poll");
    for (let i = 0; i < 40; i++) {
      await xs.value("advance", { ms: 5 });
      await xs.value("poll");
    }
    const collected = await xs.value<Collected>("windows");
    expect(collected.overruns).toBe(1);
    // 160 before the gap, 640 after it; bus time moves where each read lands by a fraction of a ms,
    // and a window-completing poll settles the FIFO (drains again before the analysis), so it
    // reads what arrived during its own drains too: at most one FIFO's worth more
    expect(collected.samples).toBeGreaterThanOrEqual(160 + 640);
    expect(collected.samples).toBeLessThan(160 + 640 + 32);
    // 160 samples before the gap are discarded with the partial window; 640 fresh ones make 2 windows
    // (without resynchronisation there would be 3, one of them spanning the gap)
    expect(collected.windows).toHaveLength(2);
    for (const w of collected.windows) {
      expect(Math.abs(w.vrms[0]! - analyticVrmsMmS([[120, 5]])) / analyticVrmsMmS([[120, 5]])).toBeLessThan(0.05);
    }
  });

  it("a bus error while sampling goes to onError, is counted, and drops the partial window like an overrun", async () => {
    await xs.value("setup", { part: "adxl345", signal: tone, rateHz: 3200 });
    await xs.value("sampler", { analyzer: { windowSamples: 256, hopSamples: 256, learningWindows: 1 }, pollMs: 1e9 });
    const pollEvery5Ms = async (times: number) => {
      for (let i = 0; i < times; i++) {
        await xs.value("advance", { ms: 5 });
        await xs.value("poll");
      }
    };
    await pollEvery5Ms(10); // 160 samples
    await xs.value("unplug");
    await xs.value("advance", { ms: 10 });
    await xs.value("poll"); // fails at once (nothing acknowledges)
    await xs.value("plug");
    await pollEvery5Ms(1); // the FIFO kept filling meanwhile (15 ms since the last drain): 32 levels full, an overrun
    await pollEvery5Ms(40); // 640 fresh samples
    const collected = await xs.value<Collected>("windows");
    expect(collected.errors).toEqual(["writeRead failed"]);
    expect(collected.busErrors).toBe(1);
    expect(collected.overruns).toBe(1);
    expect(collected.samples).toBeGreaterThanOrEqual(160 + 640);
    expect(collected.samples).toBeLessThan(160 + 640 + 32); // as above: the settling drains read a little more
    expect(collected.windows).toHaveLength(2);
  });

  it("a sampler polling too slowly for the rate reports only overruns, never a window", async () => {
    await xs.value("setup", { part: "lis3dh", signal: tone, rateHz: 1344 });
    await xs.value("sampler", { analyzer: { windowSamples: 256, hopSamples: 256, learningWindows: 1 }, pollMs: 40 }); // 53 samples per poll
    await xs.value("advance", { ms: 2000 });
    const collected = await xs.value<Collected>("windows");
    expect(collected.overruns).toBe(50);
    expect(collected.windows).toEqual([]);
    await xs.value("stopSampler");
  });

  it("a sampler at its default poll period keeps up without overruns", async () => {
    await xs.value("setup", { part: "lis3dh", signal: tone, rateHz: 5376, rangeG: 2 });
    const started = await xs.value<{ pollMs: number }>("sampler", { analyzer: { windowSamples: 1024, hopSamples: 512, learningWindows: 1 } });
    expect(started.pollMs).toBe(4);
    await xs.value("advance", { ms: 2000 });
    const collected = await xs.value<Collected>("windows");
    expect(collected.overruns).toBe(0);
    expect(collected.samples).toBeGreaterThanOrEqual(5376 * 2 - 32);
    expect(collected.windows.length).toBe(Math.floor((collected.samples - 1024) / 512) + 1);
    await xs.value("stopSampler");
  });
});
