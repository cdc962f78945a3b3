// Build-time configuration of a device (mcconfig ... key=value -> "mc/config"), checked once at boot.
// A build with a missing or malformed value stops at boot with an Error naming the key, instead of
// publishing on wrong topics. TLS is the default; plain MQTT only when the build says mqtt_plain=1.
// The accelerometer sits on I2C (device.I2C.default) unless the build says sensor_bus=spi (ADXL345
// only; pins spi_clock/spi_in/spi_out/spi_select, spi_port, spi_hz).
import { isValidId } from "../../protocol/topics.js";
import type { SensorPart } from "../drivers/accel-fifo-sensor.js";

/** the accelerometer's 4-wire SPI bus: ESP32 GPIO numbers, the SPI host, the clock */
export interface SpiBusConfig {
  clock: number;
  in: number;
  out: number;
  select: number;
  port: number;
  hz: number;
}

export interface BuildConfig {
  deviceId: string;
  siteId: string;
  brokerHost: string;
  brokerPort: number;
  tls: boolean;
  sensorPart: SensorPart;
  sensorBus: "i2c" | "spi";
  /** the SPI bus when sensorBus is "spi" */
  spi: SpiBusConfig | undefined;
  ringMessages: number;
  ringBytes: number;
  /** resource names of the CA, client certificate and key (DER), TLS builds only */
  tlsCa: string;
  tlsCert: string;
  tlsKey: string;
}

type Raw = { readonly [key: string]: unknown };

function text(raw: Raw, key: string, fallback?: string): string {
  const value = raw[key] ?? fallback;
  if (typeof value !== "string" || value.length === 0) throw new Error(`build config: ${key}= is required`);
  return value;
}

function integer(raw: Raw, key: string, fallback: number, min: number, max: number): number {
  const value = raw[key] === undefined ? fallback : Number(raw[key]);
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`build config: ${key}= must be an integer ${min}..${max}, got ${String(raw[key])}`);
  return value;
}

/** ESP32 GPIOs 34..39 are input only: clock, MOSI and chip select need an output */
const ESP32_LAST_GPIO = 39;
const ESP32_LAST_OUTPUT_GPIO = 33;

function spiBus(raw: Raw, part: SensorPart): SpiBusConfig | undefined {
  const bus = raw.sensor_bus ?? "i2c";
  if (bus !== "i2c" && bus !== "spi") throw new Error(`build config: sensor_bus=${String(bus)} must be i2c or spi`);
  if (bus === "i2c") return undefined;
  if (part !== "adxl345") throw new Error(`build config: sensor_bus=spi needs sensor=adxl345 (the ${part} driver speaks I2C only)`);
  const spi: SpiBusConfig = {
    clock: integer(raw, "spi_clock", 14, 0, ESP32_LAST_OUTPUT_GPIO),
    in: integer(raw, "spi_in", 12, 0, ESP32_LAST_GPIO),
    out: integer(raw, "spi_out", 13, 0, ESP32_LAST_OUTPUT_GPIO),
    select: integer(raw, "spi_select", 15, 0, ESP32_LAST_OUTPUT_GPIO),
    port: integer(raw, "spi_port", 1, 1, 2),
    hz: integer(raw, "spi_hz", 5_000_000, 100_000, 5_000_000), // ADXL345: at most 5 MHz
  };
  const pins = [spi.clock, spi.in, spi.out, spi.select];
  if (new Set(pins).size !== pins.length) throw new Error(`build config: spi_clock, spi_in, spi_out and spi_select must be four different pins, got ${pins.join(", ")}`);
  return spi;
}

export function readBuildConfig(raw: Raw): BuildConfig {
  const deviceId = text(raw, "device");
  const siteId = text(raw, "site");
  if (!isValidId(deviceId)) throw new Error(`build config: device=${deviceId} must be 1..24 of [a-z0-9-]`);
  if (!isValidId(siteId)) throw new Error(`build config: site=${siteId} must be 1..24 of [a-z0-9-]`);
  const plain = raw.mqtt_plain === 1 || raw.mqtt_plain === "1" || raw.mqtt_plain === "true";
  const part = text(raw, "sensor", "lis3dh");
  if (part !== "lis3dh" && part !== "adxl345") throw new Error(`build config: sensor=${part} must be lis3dh or adxl345`);
  const spi = spiBus(raw, part);
  return {
    deviceId,
    siteId,
    brokerHost: text(raw, "broker"),
    brokerPort: integer(raw, "port", plain ? 1883 : 8883, 1, 65535),
    tls: !plain,
    sensorPart: part,
    sensorBus: spi ? "spi" : "i2c",
    spi,
    ringMessages: integer(raw, "ring_messages", 128, 4, 4096),
    ringBytes: integer(raw, "ring_bytes", 16 * 1024, 1024, 256 * 1024),
    tlsCa: plain ? "" : text(raw, "tls_ca", "vw-ca.der"),
    tlsCert: plain ? "" : text(raw, "tls_cert", "vw-device-cert.der"),
    tlsKey: plain ? "" : text(raw, "tls_key", "vw-device-key.der"),
  };
}
