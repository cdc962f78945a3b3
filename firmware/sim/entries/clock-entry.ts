// XS bundle entry for the time-model tests (test/firmware/time-in-callbacks.test.ts): device code
// run from timer callbacks, observed only through the device's own clock (Time.microseconds,
// Time.ticks), as firmware would see it.
// Commands:
//   busy {iterations}      at +1 ms a timer callback busy-loops `iterations` times, reading the
//                          clock before and after; a second timer is due at +2 ms, i.e. while the
//                          first callback still runs. Advances until both ran; returns what they saw.
//   i2cReads {reads, hz}   opens SMBus to the board's ADXL345 (0x53) at `hz`, then a timer callback
//                          does `reads` 6-byte register reads (DATAX0..DATAZ1, one transaction
//                          each, as the driver drains a FIFO entry) and returns the clock's advance
//   spiReads {reads, hz}   the same over SPI (ADXL345 at the board's select pin): `reads` 7-byte
//                          transfers (address + 6 data bytes) and chip select raised after each
//   nativeWindow {windowSamples}
//                          the native DSP core (native("xs_vwdsp_…")): in a timer callback, one
//                          push of a whole window, then its analysis; the clock's advance over each
// plus "advance" {ms} from the board.
// the simulated host modules themselves (what "embedded:io/smbus", "embedded:io/spi" and "time"
// resolve to in the bundle), for their full types: Time.microseconds, close()
import SMBus from "../host/smbus.js";
import SPI from "../host/spi.js";
import Time from "../host/time.js";
import Timer from "../host/timer.js";
import { BOARD_SPI_PINS, BOARD_SPI_SELECT, installBoard } from "../board.js";
import { onHostCommand } from "../host-bridge.js";
import { signalFromSpec } from "../signals/signal-spec.js";
import { advanceVirtualTime } from "../virtual-clock.js";
import { NativeDspCore } from "../../dsp/native-core.js";
import { newFeatures } from "../../dsp/dsp-core.js";

const ADXL345_ADDRESS = 0x53;
const DATAX0 = 0x32;
/** SPI address byte: read (0x80), multi-byte (0x40), DATAX0 */
const SPI_READ_DATA = 0x80 | 0x40 | DATAX0;

/** what the "busy" command answers (test/firmware/time-in-callbacks.test.ts) */
export interface BusyReport {
  setUs: number;
  startUs: number;
  endUs: number;
  startTicks: number;
  endTicks: number;
  lateDueUs: number;
  lateFiredUs: number;
  order: string[];
  checksum: number;
}

onHostCommand("busy", (message) => {
  const iterations = Number(message.iterations);
  const report: BusyReport = { setUs: Time.microseconds, startUs: 0, endUs: 0, startTicks: 0, endTicks: 0, lateDueUs: 0, lateFiredUs: -1, order: [], checksum: 0 };
  Timer.set(() => {
    report.startUs = Time.microseconds;
    report.startTicks = Time.ticks;
    let acc = 1;
    for (let i = 0; i < iterations; i++) acc = (acc * 31 + i) % 1000003;
    report.checksum = acc;
    report.endUs = Time.microseconds;
    report.endTicks = Time.ticks;
    report.order.push("busy");
  }, 1);
  report.lateDueUs = report.setUs + 2000;
  Timer.set(() => {
    report.lateFiredUs = Time.microseconds;
    report.order.push("late");
  }, 2);
  runUntil(() => report.order.length === 2);
  return report;
});

function quietBoard(bus: "i2c" | "spi"): void {
  installBoard({ part: "adxl345", bus, signal: signalFromSpec({ kind: "constant", valuesMS2: [0, 0, 9.80665] }) });
}

/**
 * advances in 10 ms steps until `done` (an earlier command's callback may have run the clock past
 * the host's steps: device time then waits for the host to catch up before timers set since fire)
 */
function runUntil(done: () => boolean): void {
  for (let steps = 0; !done(); steps++) {
    if (steps > 10_000) throw new Error("clock entry: the timers never fired");
    advanceVirtualTime(10);
  }
}

/** runs `body` in a timer callback; returns how far the device clock moved during it, µs */
function timedInCallback(body: () => void): number {
  let elapsedUs = -1;
  Timer.set(() => {
    const startUs = Time.microseconds;
    body();
    elapsedUs = Time.microseconds - startUs;
  }, 1);
  runUntil(() => elapsedUs >= 0);
  return elapsedUs;
}

onHostCommand("i2cReads", (message) => {
  quietBoard("i2c");
  const reads = Number(message.reads);
  const io = new SMBus({ ...device.I2C.default, address: ADXL345_ADDRESS, hz: Number(message.hz) });
  const entry = new Uint8Array(6);
  const elapsedUs = timedInCallback(() => {
    for (let i = 0; i < reads; i++) io.readBuffer(DATAX0, entry);
  });
  io.close();
  return { elapsedUs };
});

onHostCommand("spiReads", (message) => {
  quietBoard("spi");
  const reads = Number(message.reads);
  const io = new SPI({ ...BOARD_SPI_PINS, select: BOARD_SPI_SELECT, hz: Number(message.hz), mode: 3, active: 0 });
  const entry = new Uint8Array(7);
  const elapsedUs = timedInCallback(() => {
    for (let i = 0; i < reads; i++) {
      entry[0] = SPI_READ_DATA;
      io.transfer(entry);
      io.flush(true);
    }
  });
  io.close();
  return { elapsedUs };
});

onHostCommand("nativeWindow", (message) => {
  const windowSamples = Number(message.windowSamples);
  const core = new NativeDspCore();
  core.configure({ windowSamples, hopSamples: windowSamples, sampleRateHz: 3200, countMS2: 9.80665 / 256, bandHz: [10, 1000], bandEdgesHz: [10, 100, 1000] });
  const block = new Int16Array(windowSamples * 3);
  for (let i = 0; i < block.length; i++) block[i] = (i * 37) % 200 - 100;
  const features = newFeatures();
  let pushUs = -1;
  let analyseUs = -1;
  let taken = 0;
  let analysed = false;
  Timer.set(() => {
    const startUs = Time.microseconds;
    taken = core.push(block, 0, windowSamples);
    const pushedUs = Time.microseconds;
    analysed = core.analyse(features);
    analyseUs = Time.microseconds - pushedUs;
    pushUs = pushedUs - startUs;
  }, 1);
  runUntil(() => analyseUs >= 0);
  return { taken, analysed, pushUs, analyseUs };
});
