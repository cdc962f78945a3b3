// The ADXL345 driver on 4-wire SPI against the same register model as on I2C, in XS: the SPI
// framing (address byte with read and multi-byte bits, one transaction per FIFO entry, the FIFO
// popping when chip select rises) gives the same samples as I2C; identity, configuration, overrun
// and a vanished part behave as on I2C.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { analyticVrmsMmS, startFirmwareEntry, type WindowSummary } from "./xs-harness.js";

type Xs = Awaited<ReturnType<typeof startFirmwareEntry>>;
const G = 9.80665;

interface Opened { error?: string; sampleRateHz?: number; rangeG?: number }
interface Burst { count: number; values: number[]; raw: number[] }
interface SpiStats { transactions: number; transfers: number; bytesOut: number; bytesIn: number; misframed: number }
interface I2cStats { transactions: number }

const constant = (valuesMS2: number[]) => ({ kind: "constant", valuesMS2 });
const machine = { kind: "machine", runningSpeedHz: 24.5, imbalanceMS2: 3, misalignmentMS2: 1.5, bearingToneHz: 310, bearingMS2: 0.8, noiseMS2: 0.4, faultGrowthPerHour: 0, seed: 7 };

describe("ADXL345 on SPI (XS, register model)", () => {
  let xs: Xs;
  beforeAll(async () => {
    xs = await startFirmwareEntry("driver", "adxl345-spi");
  });
  afterAll(async () => {
    await xs?.close();
  });

  const register = async (address: number) => (await xs.value<number[]>("registers"))[address];
  const spiStats = () => xs.value<SpiStats>("spiBusStats");
  /** runs `body` and checks that the driver's traffic went over SPI, none over I2C */
  const overSpi = async (body: () => Promise<void>) => {
    const [i2c, spi] = [await xs.value<I2cStats>("busStats"), await spiStats()];
    await body();
    expect((await xs.value<I2cStats>("busStats")).transactions).toBe(i2c.transactions);
    expect((await spiStats()).transactions).toBeGreaterThan(spi.transactions);
  };

  describe("identity", () => {
    it("finds the part by DEVID over SPI and opens it", async () => {
      expect(await xs.value<Opened>("setup", { part: "adxl345", bus: "spi", signal: constant([0, 0, G]) })).toEqual({ sampleRateHz: 3200, rangeG: 4 });
      expect((await spiStats()).misframed).toBe(0); // mode 3, ≤ 5 MHz, chip select active low
    });

    it("a wrong DEVID fails with an error naming the select pin, the value and the expected id", async () => {
      const opened = await xs.value<Opened>("setup", { part: "adxl345", bus: "spi", identity: 0x00, signal: constant([0, 0, 0]) });
      expect(opened.error).toBe("adxl345: DEVID on SPI (select pin 15) is 0x00, expected 0xe5 (wrong part or wiring)");
    });

    it("nothing on the select pin reads 0xff and fails the same way; the right pin works", async () => {
      const opened = await xs.value<Opened>("setup", { part: "adxl345", bus: "spi", select: 4, signal: constant([0, 0, 0]) });
      expect(opened.error).toBe("adxl345: DEVID on SPI (select pin 4) is 0xff, expected 0xe5 (wrong part or wiring)");
      expect(await xs.value<Opened>("open", { rateHz: 800 })).toEqual({ sampleRateHz: 800, rangeG: 4 });
    });

    it("refuses an SPI clock above the part's 5 MHz", async () => {
      const opened = await xs.value<Opened>("setup", { part: "adxl345", bus: "spi", hz: 8_000_000, signal: constant([0, 0, 0]) });
      expect(opened.error).toBe("adxl345: SPI clock must be 1..5000000 Hz, got 8000000");
    });
  });

  describe("configuration over SPI", () => {
    it.each([
      [3200, 2, 0x0f, 0x08],
      [800, 16, 0x0d, 0x0b],
      [100, 4, 0x0a, 0x09],
    ])("rate %d Hz, ±%d g writes BW_RATE %s and DATA_FORMAT %s (4-wire, full resolution), measuring, FIFO streaming", async (rateHz, rangeG, bwRate, format) => {
      await overSpi(() => xs.value("setup", { part: "adxl345", bus: "spi", signal: constant([0, 0, G]), rateHz, rangeG }));
      expect(await register(0x2c)).toBe(bwRate);
      expect(await register(0x31)).toBe(format);
      expect(await register(0x2d)).toBe(0x08);
      expect(await register(0x38)).toBe(0x90);
    });

    it("configure() changes only the fields it is given", async () => {
      await xs.value("setup", { part: "adxl345", bus: "spi", signal: constant([0, 0, G]), rateHz: 800, rangeG: 2 });
      await overSpi(async () => expect(await xs.value("configure", { rangeG: 16 })).toEqual({ sampleRateHz: 800, rangeG: 16 }));
      expect(await register(0x2c)).toBe(0x0d);
      expect(await register(0x31)).toBe(0x0b);
    });
  });

  describe("FIFO over SPI", () => {
    it("one 7-byte transaction per entry plus the two status reads: transactions per poll = entries + 2", async () => {
      await xs.value("setup", { part: "adxl345", bus: "spi", signal: constant([1, 2, 3]), rateHz: 3200, rangeG: 2 });
      await xs.value("advance", { ms: 5 });
      const before = await spiStats();
      const i2cBefore = await xs.value<I2cStats>("busStats");
      const burst = await xs.value<Burst>("readFifo");
      const after = await spiStats();
      // 5 ms at 3200 Hz is 16 entries, plus what arrived during the setup's last writes and the status reads
      expect(burst.count).toBeGreaterThanOrEqual(16);
      expect(burst.count).toBeLessThan(20);
      expect(after.transactions - before.transactions).toBe(burst.count + 2); // INT_SOURCE, FIFO_STATUS, entries
      expect(after.transfers - before.transfers).toBe(burst.count + 2); // one transfer() per transaction
      expect(after.bytesIn - before.bytesIn).toBe(2 * 2 + 7 * burst.count); // address + data each
      expect(after.misframed).toBe(0);
      expect((await xs.value<I2cStats>("busStats")).transactions).toBe(i2cBefore.transactions);
      expect(burst.raw.slice(0, 3)).toEqual([26, 52, 78]); // 1, 2, 3 m/s² at 256 LSB/g
    });

    it("gives the same raw words as I2C for the same signal, poll after poll", async () => {
      const reads = async (bus: "i2c" | "spi") => {
        await xs.value("setup", { part: "adxl345", bus, signal: machine, rateHz: 3200, rangeG: 4 });
        const out: number[] = [];
        for (let i = 0; i < 8; i++) {
          await xs.value("advance", { ms: 7 });
          const burst = await xs.value<Burst>("readFifo");
          expect(burst.count).toBeGreaterThan(0);
          out.push(...burst.raw);
        }
        return out;
      };
      const i2c = await reads("i2c");
      const spi = await reads("spi");
      // the buses take different times (I2C ~0.24 ms per entry, SPI ~0.04 ms), so the last read may
      // end a sample or two apart; both are the same sample stream from the FIFO's restart
      expect(Math.abs(spi.length - i2c.length)).toBeLessThanOrEqual(2 * 3);
      const common = Math.min(spi.length, i2c.length);
      expect(common).toBeGreaterThan(8 * 3 * 16);
      expect(new Set(spi).size).toBeGreaterThan(20); // a moving signal, not a constant
      expect(spi.slice(0, common)).toEqual(i2c.slice(0, common));
    });

    it("a tone read over SPI through the sampler gives the analytic velocity RMS", async () => {
      await xs.value("setup", { part: "adxl345", bus: "spi", rateHz: 3200, rangeG: 4, signal: { kind: "tones", axes: [[[80, 6]], [[200, 3]], []], offsetMS2: [0, 0, G] } });
      await xs.value("sampler", { analyzer: { windowSamples: 1024, hopSamples: 1024, learningWindows: 1 } });
      await overSpi(() => xs.value("advance", { ms: 1000 }));
      const { windows, overruns } = await xs.value<{ windows: WindowSummary[]; overruns: number }>("windows");
      await xs.value("stopSampler");
      expect(overruns).toBe(0);
      expect(windows.length).toBeGreaterThanOrEqual(2);
      for (const w of windows) {
        expect(Math.abs(w.vrms[0]! - analyticVrmsMmS([[80, 6]])) / analyticVrmsMmS([[80, 6]])).toBeLessThan(0.05);
        expect(Math.abs(w.vrms[1]! - analyticVrmsMmS([[200, 3]])) / analyticVrmsMmS([[200, 3]])).toBeLessThan(0.05);
      }
    });

    it("a read after the FIFO filled reports an overrun and restarts the FIFO", async () => {
      await xs.value("setup", { part: "adxl345", bus: "spi", signal: machine, rateHz: 3200 });
      await xs.value("advance", { ms: 100 });
      expect((await xs.value<{ lostSamples: number }>("model")).lostSamples).toBeGreaterThan(0);
      await overSpi(async () => expect((await xs.value<Burst>("readFifo")).count).toBe(-1));
      expect((await xs.value<{ fifoCount: number }>("model")).fifoCount).toBe(0);
      await xs.value("advance", { ms: 5 });
      const next = await xs.value<Burst>("readFifo");
      expect(next.count).toBeGreaterThan(0);
      expect(next.count).toBeLessThan(32);
    });

    it("a part that stops answering (MISO idle high) is a bus error, not an endless overrun", async () => {
      await xs.value("setup", { part: "adxl345", bus: "spi", signal: constant([0, 0, G]), rateHz: 3200 });
      await xs.value("windows"); // clears earlier errors
      await xs.value("unplug");
      expect((await xs.value<Burst>("readFifo")).count).toBe(-2);
      expect((await xs.value<{ errors: string[] }>("windows")).errors).toEqual(["adxl345: INT_SOURCE reads 0xff: the part is not answering"]);
      await xs.value("plug");
      await xs.value("advance", { ms: 3 });
      expect((await xs.value<Burst>("readFifo")).count).toBeGreaterThan(0);
    });
  });
});
