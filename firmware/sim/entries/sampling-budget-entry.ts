// XS bundle entry for the sampling-budget test: the real driver, FIFO sampler and analyzer on the
// simulated board, run for minutes of virtual time. Nothing here charges time by hand: the clock
// moves inside each poll by what the simulator's one time model charges (virtual-clock.ts): the
// poll's XS computrons (the whole TypeScript reference core, or the analyzer's JavaScript around the
// native core), the native core's C per call, and every I2C transaction's bus time. The FIFO model
// keeps filling meanwhile, so a poll too slow for the FIFO shows as overruns, as on the device.
// Commands:
//   run {part, rateHz, windowSamples, hopSamples?, dspCore: "native" | "reference", seconds}
//     → {overruns, windows, samples, maxPollMs, pollMs, sampleRateHz}
import SMBus from "embedded:io/smbus";
import { installBoard } from "../board.js";
import { onHostCommand } from "../host-bridge.js";
import { signalFromSpec } from "../signals/signal-spec.js";
import { advanceVirtualTime } from "../virtual-clock.js";
import { Lis3dh } from "../../drivers/lis3dh.js";
import { Adxl345 } from "../../drivers/adxl345.js";
import type { SensorPart } from "../../drivers/accel-fifo-sensor.js";
import { FifoSampler } from "../../drivers/sampler.js";
import { VibrationAnalyzer } from "../../dsp/analyzer.js";
import type { DspCoreKind } from "../../dsp/dsp-core.js";

const STEP_MS = 1000;

onHostCommand("run", (message) => {
  // a constant signal: what the FIFO carries does not change what the analysis costs, and the model
  // makes each sample cheaper to simulate (10 virtual minutes are ~2-3 M samples)
  const part = message.part as SensorPart;
  const signal = signalFromSpec({ kind: "constant", valuesMS2: [0.3, -0.2, 9.80665] });
  installBoard({ part, signal });
  const options = { sensor: { ...device.I2C.default, io: SMBus }, rateHz: Number(message.rateHz), rangeG: 4 as const };
  const sensor = part === "lis3dh" ? new Lis3dh(options) : new Adxl345(options);
  const windowSamples = Number(message.windowSamples);
  const analyzer = new VibrationAnalyzer({
    sampleRateHz: sensor.sampleRateHz, windowSamples, hopSamples: Number(message.hopSamples ?? windowSamples), learningWindows: 4,
    dspCore: message.dspCore as DspCoreKind,
  });
  const sampler = new FifoSampler({ sensor, analyzer });
  sampler.start();
  const totalMs = Number(message.seconds) * 1000;
  for (let elapsed = 0; elapsed < totalMs; elapsed += STEP_MS) advanceVirtualTime(Math.min(STEP_MS, totalMs - elapsed));
  sampler.stop();
  sensor.close();
  return {
    overruns: sampler.overruns, windows: sampler.windows, samples: sampler.samples, maxPollMs: sampler.maxPollMs,
    pollMs: sampler.pollMs, sampleRateHz: sensor.sampleRateHz,
  };
});
