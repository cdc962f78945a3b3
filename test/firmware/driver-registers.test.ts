// The LIS3DH and ADXL345 drivers against their register-level models, in XS: configuration writes
// the right registers, FIFO bursts decode to the right values at every range, reads are bursts,
// configure() changes only what it is given, a wrong or missing part fails cleanly.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { analyticVrmsMmS, startFirmwareEntry, type WindowSummary } from "./xs-harness.js";

type Xs = Awaited<ReturnType<typeof startFirmwareEntry>>;
const G = 9.80665;
const RANGES = [2, 4, 8, 16] as const;

interface Opened { error?: string; sampleRateHz?: number; rangeG?: number }
interface Burst { count: number; values: number[]; raw: number[] }
interface BusStats { transactions: number; readTransactions: number; bytesRead: number; bytesWritten: number }

describe("accelerometer drivers against register models (XS)", () => {
  let xs: Xs;
  beforeAll(async () => {
    xs = await startFirmwareEntry("driver", "driver-registers");
  });
  afterAll(async () => {
    await xs?.close();
  });

  const constant = (valuesMS2: number[]) => ({ kind: "constant", valuesMS2 });
  const register = async (address: number) => (await xs.value<number[]>("registers"))[address];

  describe("LIS3DH", () => {
    it.each([
      [400, 2, 0x77, 0x88],
      [1344, 16, 0x97, 0xb8],
      [3200, 4, 0x9f, 0x90], // 5376 Hz exists in low-power mode only: LPen, no HR
      [1500, 8, 0x8f, 0xa0], // 1620 Hz, low-power
    ])("rate %d Hz, ±%d g writes CTRL_REG1 %s and CTRL_REG4 %s, FIFO on in stream mode", async (rateHz, rangeG, ctrl1, ctrl4) => {
      await xs.value("setup", { part: "lis3dh", signal: constant([0, 0, G]), rateHz, rangeG });
      expect(await register(0x20)).toBe(ctrl1);
      expect(await register(0x23)).toBe(ctrl4);
      expect(await register(0x24)).toBe(0x40);
      expect(await register(0x2e)).toBe(0x80);
    });

    it("configure() changes only the fields it is given", async () => {
      const opened = await xs.value<Opened>("setup", { part: "lis3dh", signal: constant([0, 0, G]), rateHz: 400, rangeG: 2 });
      expect(opened).toEqual({ sampleRateHz: 400, rangeG: 2 });
      expect(await xs.value("configure", { rangeG: 8 })).toEqual({ sampleRateHz: 400, rangeG: 8 });
      expect(await register(0x20)).toBe(0x77);
      expect(await register(0x23)).toBe(0xa8);
      expect(await xs.value("configure", { rateHz: 1344 })).toEqual({ sampleRateHz: 1344, rangeG: 8 });
      expect(await register(0x23)).toBe(0xa8);
    });

    it("drains the FIFO in one auto-increment burst (OUT_X_L | 0x80)", async () => {
      await xs.value("setup", { part: "lis3dh", signal: constant([1, 2, 3]), rateHz: 1344, rangeG: 2 });
      await xs.value("advance", { ms: 15 });
      const before = await xs.value<BusStats>("busStats");
      const burst = await xs.value<Burst>("readFifo");
      const after = await xs.value<BusStats>("busStats");
      // 15 ms at 1344 Hz is 20 samples, plus what arrived while the driver was set up and the status
      // read (bus time passes)
      expect(burst.count).toBeGreaterThanOrEqual(20);
      expect(burst.count).toBeLessThan(24);
      expect(after.readTransactions - before.readTransactions).toBe(2); // FIFO_SRC_REG, then the burst
      expect(after.bytesRead - before.bytesRead).toBe(1 + 6 * burst.count);
    });
  });

  describe("ADXL345", () => {
    it.each([
      [3200, 2, 0x0f, 0x08],
      [800, 16, 0x0d, 0x0b],
      [100, 4, 0x0a, 0x09],
    ])("rate %d Hz, ±%d g writes BW_RATE %s and DATA_FORMAT %s (full resolution), measuring, FIFO streaming", async (rateHz, rangeG, bwRate, format) => {
      await xs.value("setup", { part: "adxl345", signal: constant([0, 0, G]), rateHz, rangeG });
      expect(await register(0x2c)).toBe(bwRate);
      expect(await register(0x31)).toBe(format);
      expect(await register(0x2d)).toBe(0x08);
      expect((await register(0x38))! >> 6).toBe(2);
    });

    it("reads each FIFO entry as one 6-byte DATAX0..DATAZ1 read, as the datasheet requires", async () => {
      await xs.value("setup", { part: "adxl345", signal: constant([1, 2, 3]), rateHz: 3200, rangeG: 2 });
      await xs.value("advance", { ms: 5 });
      const before = await xs.value<BusStats>("busStats");
      const burst = await xs.value<Burst>("readFifo");
      const after = await xs.value<BusStats>("busStats");
      // 5 ms at 3200 Hz is 16 entries, plus what arrived during the setup's last writes and the status reads
      expect(burst.count).toBeGreaterThanOrEqual(16);
      expect(burst.count).toBeLessThan(20);
      expect(after.readTransactions - before.readTransactions).toBe(2 + burst.count); // INT_SOURCE, FIFO_STATUS, entries
      expect(after.bytesRead - before.bytesRead).toBe(2 + 6 * burst.count);
    });
  });

  // LSB size per part and range in the modes the drivers use, in g (datasheets)
  const lsbG = {
    "lis3dh-hr": (range: number) => ({ 2: 0.001, 4: 0.002, 8: 0.004, 16: 0.012 })[range]!,
    "lis3dh-lp": (range: number) => ({ 2: 0.016, 4: 0.032, 8: 0.064, 16: 0.192 })[range]!,
    adxl345: () => 1 / 256,
  };
  const cases = RANGES.flatMap((range) => [
    ["lis3dh", 400, range, lsbG["lis3dh-hr"](range)],
    ["lis3dh", 5376, range, lsbG["lis3dh-lp"](range)],
    ["adxl345", 3200, range, lsbG.adxl345()],
  ] as const);

  it.each(cases)("%s at %d Hz, ±%d g: FIFO data decode to the input within one LSB, clipped at full scale", async (part, rateHz, rangeG, lsb) => {
    const values = [0.37 * rangeG * G, -0.81 * rangeG * G, 3 * rangeG * G];
    await xs.value("setup", { part, signal: constant(values), rateHz, rangeG });
    await xs.value("advance", { ms: 4 });
    const burst = await xs.value<Burst>("readFifo");
    expect(burst.count).toBeGreaterThan(0);
    const lsbMS2 = lsb * G;
    for (let i = 0; i < burst.count; i++) {
      expect(Math.abs(burst.values[i * 3]! - values[0]!)).toBeLessThanOrEqual(lsbMS2 / 2 + 1e-4);
      expect(Math.abs(burst.values[i * 3 + 1]! - values[1]!)).toBeLessThanOrEqual(lsbMS2 / 2 + 1e-4);
      // beyond full scale: the part saturates at (just under) +full scale
      expect(burst.values[i * 3 + 2]!).toBeLessThanOrEqual(rangeG * G + 1e-4);
      expect(burst.values[i * 3 + 2]!).toBeGreaterThan(rangeG * G - lsbMS2 - 1e-4);
    }
  });

  describe("block contract: readFifo() hands over the part's raw int16 words", () => {
    it.each([
      ["lis3dh", 400, 16], // 12-bit, left-justified: the low 4 bits are 0
      ["lis3dh", 5376, 256], // 8-bit, left-justified: the low 8 bits are 0
      ["adxl345", 3200, 1], // right-justified
    ] as const)("%s at %d Hz: words as the part outputs them (steps of %d), m/s² = word × countMS2", async (part, rateHz, step) => {
      await xs.value("setup", { part, signal: constant([3.1, -4.7, 9.2]), rateHz, rangeG: 2 });
      await xs.value("advance", { ms: 4 });
      const burst = await xs.value<Burst>("readFifo");
      expect(burst.count).toBeGreaterThan(0);
      expect(burst.raw).toHaveLength(burst.count * 3);
      for (const word of burst.raw) expect(Math.abs(word % step)).toBe(0);
      const lsbMS2 = part === "adxl345" ? G / 256 : (rateHz === 400 ? 0.001 : 0.016) * G;
      for (let i = 0; i < burst.raw.length; i++) expect(burst.values[i]).toBeCloseTo((burst.raw[i]! * lsbMS2) / step, 9);
      expect(Math.abs(burst.values[0]! - 3.1)).toBeLessThanOrEqual(lsbMS2 / 2 + 1e-9);
    });

    it.each([["lis3dh", 1344], ["adxl345", 3200]] as const)("%s: reads into whichever buffer it is given; one too short is FIFO_ERROR via onError", async (part, rateHz) => {
      await xs.value("setup", { part, signal: constant([1, 2, 3]), rateHz });
      await xs.value("windows"); // clears earlier errors
      const reads: Burst[] = [];
      for (const words of [undefined, 96, undefined, 200]) {
        await xs.value("advance", { ms: 3 });
        reads.push(await xs.value<Burst>("readFifo", { words }));
      }
      for (const burst of reads) {
        expect(burst.count).toBeGreaterThan(0);
        expect(burst.raw.slice(0, 3)).toEqual(reads[0]!.raw.slice(0, 3));
      }
      await xs.value("advance", { ms: 3 });
      expect((await xs.value<Burst>("readFifo", { words: 95 })).count).toBe(-2);
      expect((await xs.value<{ errors: string[] }>("windows")).errors).toEqual(["readFifo: the buffer holds 95 words, a full FIFO needs 96"]);
    });
  });

  it.each([["lis3dh", 1344], ["adxl345", 3200]] as const)("%s: a tone read through the FIFO and the sampler gives the analytic velocity RMS", async (part, rateHz) => {
    await xs.value("setup", { part, rateHz, rangeG: 4, signal: { kind: "tones", axes: [[[80, 6]], [[200, 3]], []], offsetMS2: [0, 0, G] } });
    await xs.value("sampler", { analyzer: { windowSamples: 1024, hopSamples: 1024, learningWindows: 1 } });
    await xs.value("advance", { ms: 3000 });
    const { windows, overruns } = await xs.value<{ windows: WindowSummary[]; overruns: number }>("windows");
    expect(overruns).toBe(0);
    expect(windows.length).toBeGreaterThanOrEqual(2);
    for (const w of windows) {
      expect(Math.abs(w.vrms[0]! - analyticVrmsMmS([[80, 6]])) / analyticVrmsMmS([[80, 6]])).toBeLessThan(0.05);
      expect(Math.abs(w.vrms[1]! - analyticVrmsMmS([[200, 3]])) / analyticVrmsMmS([[200, 3]])).toBeLessThan(0.05);
    }
    await xs.value("stopSampler");
  });

  describe("wrong or missing part", () => {
    it("a wrong WHO_AM_I fails with an error naming the value, the address and the expected id", async () => {
      const opened = await xs.value<Opened>("setup", { part: "lis3dh", identity: 0x32, signal: constant([0, 0, 0]) });
      expect(opened.error).toBe("lis3dh: WHO_AM_I at 0x18 is 0x32, expected 0x33 (wrong part or address)");
    });

    it("a wrong DEVID fails the same way", async () => {
      const opened = await xs.value<Opened>("setup", { part: "adxl345", identity: 0x00, signal: constant([0, 0, 0]) });
      expect(opened.error).toBe("adxl345: DEVID at 0x53 is 0x00, expected 0xe5 (wrong part or address)");
    });

    it("no part at the address fails with a clear error, and the right address works", async () => {
      const opened = await xs.value<Opened>("setup", { part: "lis3dh", boardAddress: 0x19, signal: constant([0, 0, 0]) });
      // the ESP32's text for a register read nobody acknowledges (smbus.js writeRead → _i2c.c xsUnknownError)
      expect(opened.error).toBe("lis3dh: no device answering at I2C address 0x18 (writeRead failed)");
      expect(await xs.value<Opened>("open", { address: 0x19, rateHz: 400 })).toEqual({ sampleRateHz: 400, rangeG: 4 });
    });

    it("a part that vanishes reports errors to onError and close() is safe twice", async () => {
      await xs.value("setup", { part: "adxl345", signal: constant([0, 0, G]), rateHz: 3200 });
      await xs.value("unplug");
      expect((await xs.value<Burst>("readFifo")).count).toBe(-2);
      const { errors } = await xs.value<{ errors: string[] }>("windows");
      expect(errors).toEqual(["writeRead failed"]);
      await expect(xs.value("close")).resolves.toBeUndefined();
      expect((await xs.value<Burst>("readFifo")).count).toBe(-2);
      expect((await xs.value<{ errors: string[] }>("windows")).errors).toEqual(["adxl345: closed"]);
    });
  });
});
