// XS bundle entry for the sampling-budget test: the real driver, FIFO sampler and analyzer (native
// core) on the simulated board, with each window's analysis charged its estimated ESP32 time
// (device-cost-model.ts) to the virtual clock, inside the poll that completes the window: the FIFO
// model keeps filling while the device would be busy, so an analysis too slow for the FIFO shows
// as overruns, as it would on the device.
// Commands:
//   run {part, rateHz, windowSamples, hopSamples?, costOf: "native" | "reference", seconds}
//     → {overruns, windows, samples, maxPollMs, pollMs, sampleRateHz, chargedMs}
import SMBus from "embedded:io/smbus";
import { installBoard } from "../board.js";
import { onHostCommand } from "../host-bridge.js";
import { signalFromSpec } from "../signals/signal-spec.js";
import { advanceVirtualTime, delayVirtualTime } from "../virtual-clock.js";
import { analysisDeviceMs } from "../device-cost-model.js";
import { Lis3dh } from "../../drivers/lis3dh.js";
import { Adxl345 } from "../../drivers/adxl345.js";
import type { SensorPart } from "../../drivers/accel-fifo-sensor.js";
import { FifoSampler } from "../../drivers/sampler.js";
import { VibrationAnalyzer } from "../../dsp/analyzer.js";
import type { DspCoreKind } from "../../dsp/dsp-core.js";

const STEP_MS = 1000;

onHostCommand("run", (message) => {
  // a constant signal: what the FIFO carries does not change what the analysis is charged, and the
  // model makes each sample cheaper to simulate (10 virtual minutes are ~2-3 M samples)
  const part = message.part as SensorPart;
  const costOf = message.costOf as DspCoreKind;
  const signal = signalFromSpec({ kind: "constant", valuesMS2: [0.3, -0.2, 9.80665] });
  installBoard({ part, signal });
  const options = { sensor: { ...device.I2C.default, io: SMBus }, rateHz: Number(message.rateHz), rangeG: 4 as const };
  const sensor = part === "lis3dh" ? new Lis3dh(options) : new Adxl345(options);
  const windowSamples = Number(message.windowSamples);
  const analyzer = new VibrationAnalyzer({
    sampleRateHz: sensor.sampleRateHz, windowSamples, hopSamples: Number(message.hopSamples ?? windowSamples), learningWindows: 4,
  });
  const sampler = new FifoSampler({ sensor, analyzer });
  const costMs = analysisDeviceMs(costOf, windowSamples);
  let chargedMs = 0;
  sampler.onWindow = () => {
    delayVirtualTime(costMs);
    chargedMs += costMs;
  };
  sampler.start();
  const totalMs = Number(message.seconds) * 1000;
  for (let elapsed = 0; elapsed < totalMs; elapsed += STEP_MS) advanceVirtualTime(Math.min(STEP_MS, totalMs - elapsed));
  sampler.stop();
  sensor.close();
  return {
    overruns: sampler.overruns, windows: sampler.windows, samples: sampler.samples, maxPollMs: sampler.maxPollMs,
    pollMs: sampler.pollMs, sampleRateHz: sensor.sampleRateHz, chargedMs, costMs,
  };
});
