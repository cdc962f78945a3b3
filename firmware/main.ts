// vibewatch device firmware: wiring only (see README.md). setup/network (manifest_net.json) has
// joined Wi-Fi and set the clock by SNTP before Moddable calls this default export.
import Time from "time";
import SMBus from "embedded:io/smbus";
import SPI from "embedded:io/spi";
import Preference from "preference";
import Net from "net"; // Moddable's net module (Wi-Fi RSSI), not Node's
import Instrumentation from "instrumentation";
import config from "mc/config";
import { readBuildConfig } from "./config/build-config.js";
import { BUILD_DEFAULTS } from "./config/device-config.js";
import { mqttProvider } from "./net/mqtt-provider.js";
import { Lis3dh } from "./drivers/lis3dh.js";
import { Adxl345 } from "./drivers/adxl345.js";
import { FifoSampler } from "./drivers/sampler.js";
import { VibrationAnalyzer } from "./dsp/analyzer.js";
import { DeviceApp } from "./app/device-app.js";
import { timerScheduler } from "./app/timer-scheduler.js";
import { uptimeClock } from "./app/uptime-clock.js";
import { moddablePlatform } from "./ota/moddable-platform.js";
import { rollBackPendingBoot } from "./ota/ota-agent.js";
import { OTA_REASONS } from "../protocol/ota.js";

const FIRMWARE_VERSION = "0.2.0";
/** before this the clock has not been set (ms, 2020-01-01) */
const CLOCK_SET_AFTER_MS = 1_577_836_800_000;

export default function main(): void {
  const build = readBuildConfig(config);
  const bus = build.spi ? { ...build.spi, io: SPI } : { ...device.I2C.default, io: SMBus };
  const options = { sensor: bus, rateHz: BUILD_DEFAULTS.sampleRateHz, rangeG: BUILD_DEFAULTS.rangeG };
  // OTA only in a build with a release key (ota_key=04…: firmware/README.md, "Updates over the air")
  const ota = config.ota_key ? { board: String(config.ota_board || "esp32"), platform: moddablePlatform(String(config.ota_key)) } : undefined;
  let sensor: Adxl345 | Lis3dh;
  try {
    sensor = build.sensorPart === "adxl345" ? new Adxl345(options) : new Lis3dh(options);
  } catch (error) {
    // a new image whose sensor check fails rolls back now (this does not return on the device)
    if (ota && rollBackPendingBoot(ota.platform, Preference, `${OTA_REASONS.selfTestSensor}: ${(error as Error).message}`)) return;
    throw error;
  }
  const { windowSamples, hopSamples, learningWindows } = BUILD_DEFAULTS;
  const analyzer = new VibrationAnalyzer({ sampleRateHz: sensor.sampleRateHz, windowSamples, hopSamples, learningWindows });
  const sampler = new FifoSampler({ sensor, analyzer });
  const freeMemory = Instrumentation.map("System Free Memory");
  const app = new DeviceApp({
    deviceId: build.deviceId,
    siteId: build.siteId,
    firmwareVersion: FIRMWARE_VERSION,
    sampler,
    analyzer,
    sensor: { part: sensor.part, apply: (rateHz, rangeG) => (sensor.configure({ rateHz, rangeG: rangeG as 2 | 4 | 8 | 16 }), sensor.sampleRateHz) },
    preferences: Preference,
    network: { provider: mqttProvider(build, Net.get("DNS")), host: build.brokerHost, port: build.brokerPort, keepaliveMs: 30_000, connectTimeoutMs: 15_000, backoff: { initialMs: 1000, maxMs: 60_000 }, maxInflight: 8, maxInboundBytes: 1024 },
    ring: { capacityMessages: build.ringMessages, capacityBytes: build.ringBytes },
    scheduler: timerScheduler,
    random: Math.random,
    clockMs: () => (Date.now() > CLOCK_SET_AFTER_MS ? Date.now() : 0),
    uptimeMs: uptimeClock(() => Time.ticks),
    freeMemoryBytes: () => Instrumentation.get(freeMemory) ?? 0,
    rssiDbm: () => Net.get("RSSI"),
    ota,
  });
  app.ota?.sensorIdentified(true);
  app.start();
}
