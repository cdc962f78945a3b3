// Issue 20 (point 2): time passes inside callbacks in the simulator, as it does on the ESP32.
// A callback's XS computrons move the device clock through one factor (ESP32 µs per computron,
// firmware/sim/device-cost-model.ts), continuously: a clock read mid-callback already includes
// what the callback spent, and a timer that fell due meanwhile fires late, after it (one JS
// thread). Each I2C or SPI transaction costs its bus time: bits ÷ clock + the driver call's fixed
// overhead. Virtual-time figures only: nothing here depends on how fast the host runs.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFirmwareEntry } from "./xs-harness.js";
import {
  ESP32_US_PER_COMPUTRON, I2C_TRANSACTION_OVERHEAD_US, NATIVE_ANALYSE_DEVICE_MS_AT_2048, NATIVE_PUSH_DEVICE_US_PER_SAMPLE, SPI_TRANSACTION_OVERHEAD_US,
} from "../../firmware/sim/device-cost-model.js";
import type { BusyReport } from "../../firmware/sim/entries/clock-entry.js";

type Xs = Awaited<ReturnType<typeof startFirmwareEntry>>;

describe("time in callbacks (XS): computrons and bus transactions move the device clock", () => {
  let xs: Xs;
  beforeAll(async () => {
    xs = await startFirmwareEntry("clock", "time-in-callbacks");
  });
  afterAll(async () => {
    await xs?.close();
  });

  async function busy(iterations: number): Promise<{ report: BusyReport; computrons: number }> {
    const { value, meterUsage } = await xs.call<BusyReport>("busy", { iterations });
    return { report: value, computrons: meterUsage.compute };
  }

  it("a busy callback makes Time.ticks and Time.microseconds advance by its computrons × the factor", async () => {
    const idle = await busy(0);
    const loaded = await busy(200_000);
    const spentUs = (r: BusyReport) => r.endUs - r.startUs;
    // the loop is the only difference between the two commands: its computrons, at the factor
    const loopComputrons = loaded.computrons - idle.computrons;
    expect(loopComputrons).toBeGreaterThan(1_000_000);
    const expectedUs = loopComputrons * ESP32_US_PER_COMPUTRON;
    expect(Math.abs(spentUs(loaded.report) - spentUs(idle.report) - expectedUs)).toBeLessThanOrEqual(2); // Time.microseconds floors
    expect(loaded.report.endTicks - loaded.report.startTicks).toBeGreaterThanOrEqual(Math.floor(expectedUs / 1000) - 1);
    expect(loaded.report.endTicks - loaded.report.startTicks).toBeLessThanOrEqual(Math.ceil(expectedUs / 1000) + 1);
  });

  it("a timer due while a callback runs fires late, after it, at the time the callback ended", async () => {
    const { report } = await busy(200_000);
    // the busy timer fired on time: its first clock read includes only the callback's first few computrons
    expect(report.startUs - report.setUs).toBeGreaterThanOrEqual(1000);
    expect(report.startUs - report.setUs).toBeLessThan(1000 + 200 * ESP32_US_PER_COMPUTRON);
    expect(report.endUs - report.startUs).toBeGreaterThan(100_000); // ~0.3 s of device time: far past the late timer's due time
    expect(report.order).toEqual(["busy", "late"]);
    expect(report.lateFiredUs).toBeGreaterThanOrEqual(report.endUs);
    expect(report.lateFiredUs - report.endUs).toBeLessThan(100); // at once after the callback, plus the computrons between
    expect(report.lateFiredUs - report.lateDueUs).toBeGreaterThan(100_000);
  });

  it("I2C: N 6-byte register reads at 400 kHz advance the clock by N × (bits ÷ clock + overhead)", async () => {
    const reads = 50;
    // one SMBus register read, as the ESP32's smbus.js does it (writeRead): START, address+W,
    // register, repeated START, address+R, 6 data bytes, STOP; 9 bits per byte with its ACK
    const bits = 1 + 9 * (1 + 1) + 1 + 9 * (1 + 6) + 1;
    expect(bits).toBe(84);
    const busUs = (hz: number) => reads * ((bits * 1e6) / hz + I2C_TRANSACTION_OVERHEAD_US);
    const at400k = (await xs.value<{ elapsedUs: number }>("i2cReads", { reads, hz: 400_000 })).elapsedUs;
    const at100k = (await xs.value<{ elapsedUs: number }>("i2cReads", { reads, hz: 100_000 })).elapsedUs;
    // the same code ran both times (same computrons): the difference is the wire time alone
    expect(Math.abs(at100k - at400k - (busUs(100_000) - busUs(400_000)))).toBeLessThanOrEqual(1);
    // bus time, plus what the loop, SMBus's JavaScript and the call into I2C cost in computrons
    // (about a hundred per read)
    expect(at400k).toBeGreaterThanOrEqual(Math.floor(busUs(400_000)));
    expect(at400k - busUs(400_000)).toBeLessThan(reads * 200 * ESP32_US_PER_COMPUTRON);
    expect(busUs(400_000)).toBeCloseTo(50 * (210 + I2C_TRANSACTION_OVERHEAD_US), 6);
  });

  it("SPI: N 7-byte transfers at 5 MHz advance the clock by N × (8 bits per byte ÷ clock + overhead)", async () => {
    const reads = 50;
    const busUs = (hz: number) => reads * ((7 * 8 * 1e6) / hz + SPI_TRANSACTION_OVERHEAD_US);
    const at5M = (await xs.value<{ elapsedUs: number }>("spiReads", { reads, hz: 5_000_000 })).elapsedUs;
    const at1M = (await xs.value<{ elapsedUs: number }>("spiReads", { reads, hz: 1_000_000 })).elapsedUs;
    expect(Math.abs(at1M - at5M - (busUs(1_000_000) - busUs(5_000_000)))).toBeLessThanOrEqual(1);
    expect(at5M).toBeGreaterThanOrEqual(Math.floor(busUs(5_000_000)));
    // plus the computrons of the loop and of two calls per read (transfer, flush)
    expect(at5M - busUs(5_000_000)).toBeLessThan(reads * 2 * 200 * ESP32_US_PER_COMPUTRON);
  });

  it.each([2048, 1024])("the native DSP's C costs its estimate: a %d-sample window's push per sample, its analysis scaled by N·log2 N", async (windowSamples) => {
    const r = await xs.value<{ taken: number; analysed: boolean; pushUs: number; analyseUs: number }>("nativeWindow", { windowSamples });
    expect(r.taken).toBe(windowSamples);
    expect(r.analysed).toBe(true);
    // C executes no bytecode: the time is the estimate, plus the computrons of the JavaScript around
    // the call (NativeDspCore's method, the clock reads, the simulator's wrapper: ~150)
    const calls = 200 * ESP32_US_PER_COMPUTRON;
    const pushUs = windowSamples * NATIVE_PUSH_DEVICE_US_PER_SAMPLE;
    expect(r.pushUs).toBeGreaterThanOrEqual(Math.floor(pushUs));
    expect(r.pushUs).toBeLessThan(pushUs + calls + 1);
    const analyseUs = NATIVE_ANALYSE_DEVICE_MS_AT_2048 * 1000 * ((windowSamples * Math.log2(windowSamples)) / (2048 * 11));
    expect(r.analyseUs).toBeGreaterThanOrEqual(Math.floor(analyseUs));
    expect(r.analyseUs).toBeLessThan(analyseUs + calls + 1);
  });
});
