// XS bundle entry for driver and sampler tests, and for replay through a sensor: the simulated
// board with one accelerometer model, the real driver, the FIFO sampler and the analyzer.
// Commands:
//   setup {part, signal, bus?, boardAddress?, identity?, address?, rateHz?, rangeG?, select?, hz?}
//                                              installs the board (bus "i2c" default, or "spi"), opens the driver
//   open {address?, rateHz?, rangeG?, select?, hz?}  opens the driver again (e.g. after unplug); returns error text on failure
//   registers                                  the model's register file
//   configure {rateHz?, rangeG?}               driver.configure (only the given fields)
//   readFifo {words?}                          one burst: {count, values (m/s²: raw words × countMS2), raw}
//   sampler {analyzer, pollMs?}                starts a FifoSampler; windows are collected
//   windows                                    collected window summaries, overruns, errors (and clears them)
//   feed {samples}                             appends to the block signal source
//   poll (one sampler poll by hand), stopSampler, close, unplug, plug, busStats (I2C), spiBusStats, model
// plus "advance" {ms} from the board. Time passes in the sampler's polls (its timer callbacks and
// "poll", and "readFifo", which stand for a poll) as the simulator's time model charges it
// (virtual-clock.ts); the other commands are the host's: their bus transactions take device time,
// after which "advance" lets its ms pass.
import SMBus from "embedded:io/smbus";
import SPI from "embedded:io/spi";
import { BOARD_SPI_PINS, BOARD_SPI_SELECT, installBoard, type Board } from "../board.js";
import { i2cBusStats } from "../i2c-bus.js";
import { spiBusStats } from "../host/spi.js";
import { signalFromSpec, type SignalSpec } from "../signals/signal-spec.js";
import { BlockSource } from "../signals/block-source.js";
import { onHostCommand } from "../host-bridge.js";
import { beginSimulatorWork, endSimulatorWork, runAsDevice } from "../virtual-clock.js";
import { Lis3dh } from "../../drivers/lis3dh.js";
import { Adxl345 } from "../../drivers/adxl345.js";
import { FIFO_DEPTH, type AccelFifoSensor, type AccelFifoSensorOptions, type SensorPart } from "../../drivers/accel-fifo-sensor.js";
import { FifoSampler } from "../../drivers/sampler.js";
import { VibrationAnalyzer, type AnalyzerConfig } from "../../dsp/analyzer.js";
import { summariseWindow, type WindowSummary } from "./window-summary.js";
import type { RangeG } from "../../../protocol/messages.js";

let board: Board | undefined;
let part: SensorPart = "lis3dh";
let sensor: AccelFifoSensor | undefined;
let sampler: FifoSampler | undefined;
let source: ReturnType<typeof signalFromSpec> | undefined;
let windows: WindowSummary[] = [];
const errors: string[] = [];
let bus: "i2c" | "spi" = "i2c";
const burst = new Int16Array(FIFO_DEPTH * 3);

function open(message: Record<string, unknown>): { error?: string; sampleRateHz?: number; rangeG?: number } {
  sensor?.close();
  sensor = undefined;
  const sensorBus: AccelFifoSensorOptions["sensor"] = bus === "spi"
    ? { ...BOARD_SPI_PINS, io: SPI, select: (message.select as number | undefined) ?? BOARD_SPI_SELECT, hz: message.hz as number | undefined }
    : { ...device.I2C.default, io: SMBus, address: message.address as number | undefined };
  const options: AccelFifoSensorOptions = {
    sensor: sensorBus,
    rateHz: message.rateHz as number | undefined,
    rangeG: message.rangeG as RangeG | undefined,
    onError: (error) => errors.push(error.message),
  };
  try {
    sensor = part === "lis3dh" ? new Lis3dh(options) : new Adxl345(options);
    return { sampleRateHz: sensor.sampleRateHz, rangeG: sensor.rangeG };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

function opened(): AccelFifoSensor {
  if (!sensor) throw new Error("driver: not open");
  return sensor;
}

onHostCommand("setup", (message) => {
  sampler?.stop();
  sampler = undefined;
  board?.unplug();
  part = message.part as SensorPart;
  bus = message.bus === "spi" ? "spi" : "i2c";
  source = signalFromSpec(message.signal as SignalSpec);
  board = installBoard({ part, bus, signal: source, address: message.boardAddress as number | undefined, identity: message.identity as number | undefined });
  return open(message);
});
onHostCommand("open", (message) => open(message));
onHostCommand("registers", () => Array.from(board!.model.registers));
onHostCommand("model", () => (board!.model.sync(), { fifoCount: board!.model.fifoCount, fifoMode: board!.model.fifoMode(), lostSamples: board!.model.lostSamples }));
onHostCommand("configure", (message) => {
  opened().configure({ rateHz: message.rateHz as number | undefined, rangeG: message.rangeG as RangeG | undefined });
  return { sampleRateHz: opened().sampleRateHz, rangeG: opened().rangeG };
});
onHostCommand("readFifo", (message) => {
  // {words}: into a fresh buffer of that many int16 words instead of the one kept for every call
  const into = message.words === undefined ? burst : new Int16Array(message.words as number);
  const sensorNow = opened();
  // a drain the firmware would do in a callback: its bus time is the callback's (the host's next
  // "advance" is not pushed back by it), as "poll" below
  const count = runAsDevice(() => sensorNow.readFifo(into));
  const raw = Array.from(into.subarray(0, Math.max(0, count) * 3));
  const countMS2 = opened().countMS2;
  return { count, values: raw.map((word) => word * countMS2), raw };
});
onHostCommand("sampler", (message) => {
  sampler?.stop();
  const analyzer = new VibrationAnalyzer({ sampleRateHz: opened().sampleRateHz, ...(message.analyzer as Omit<AnalyzerConfig, "sampleRateHz">) });
  sampler = new FifoSampler({ sensor: opened(), analyzer, pollMs: message.pollMs as number | undefined });
  sampler.onWindow = (result) => {
    // the copy for the host is the test's, not the device's: not charged as device time
    beginSimulatorWork();
    windows.push(summariseWindow(result));
    endSimulatorWork();
  };
  sampler.start();
  return { pollMs: sampler.pollMs, sampleRateHz: analyzer.config.sampleRateHz };
});
onHostCommand("poll", () => {
  if (!sampler) throw new Error("poll: no sampler");
  const polled = sampler;
  runAsDevice(() => polled.poll()); // as its timer callback would: the poll's time passes
  return undefined;
});
onHostCommand("stopSampler", () => {
  sampler?.stop();
  return undefined;
});
onHostCommand("windows", () => {
  const out = { windows, overruns: sampler?.overruns ?? 0, busErrors: sampler?.errors ?? 0, errors: errors.slice(), samples: sampler?.samples ?? 0 };
  windows = [];
  errors.length = 0;
  return out;
});
onHostCommand("feed", (message) => {
  if (!(source instanceof BlockSource)) throw new Error("feed: the signal is not a block source");
  return { accepted: source.feed(message.samples as number[]), available: source.available, underruns: source.underruns };
});
onHostCommand("close", () => {
  sensor?.close();
  sensor?.close();
  return undefined;
});
onHostCommand("unplug", () => {
  board?.unplug();
  return undefined;
});
onHostCommand("plug", () => {
  board?.plug();
  return undefined;
});
onHostCommand("busStats", () => ({ ...i2cBusStats }));
onHostCommand("spiBusStats", () => ({ ...spiBusStats }));
