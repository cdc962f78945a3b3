// Build-time configuration of a device (mcconfig ... key=value -> "mc/config"), checked once at boot.
// A build with a missing or malformed value stops at boot with an Error naming the key, instead of
// publishing on wrong topics. TLS is the default; plain MQTT only when the build says mqtt_plain=1.
import { isValidId } from "../../protocol/topics.js";
import type { SensorPart } from "../drivers/accel-fifo-sensor.js";

export interface BuildConfig {
  deviceId: string;
  siteId: string;
  brokerHost: string;
  brokerPort: number;
  tls: boolean;
  sensorPart: SensorPart;
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

export function readBuildConfig(raw: Raw): BuildConfig {
  const deviceId = text(raw, "device");
  const siteId = text(raw, "site");
  if (!isValidId(deviceId)) throw new Error(`build config: device=${deviceId} must be 1..24 of [a-z0-9-]`);
  if (!isValidId(siteId)) throw new Error(`build config: site=${siteId} must be 1..24 of [a-z0-9-]`);
  const plain = raw.mqtt_plain === 1 || raw.mqtt_plain === "1" || raw.mqtt_plain === "true";
  const part = text(raw, "sensor", "lis3dh");
  if (part !== "lis3dh" && part !== "adxl345") throw new Error(`build config: sensor=${part} must be lis3dh or adxl345`);
  return {
    deviceId,
    siteId,
    brokerHost: text(raw, "broker"),
    brokerPort: integer(raw, "port", plain ? 1883 : 8883, 1, 65535),
    tls: !plain,
    sensorPart: part,
    ringMessages: integer(raw, "ring_messages", 128, 4, 4096),
    ringBytes: integer(raw, "ring_bytes", 16 * 1024, 1024, 256 * 1024),
    tlsCa: plain ? "" : text(raw, "tls_ca", "vw-ca.der"),
    tlsCert: plain ? "" : text(raw, "tls_cert", "vw-device-cert.der"),
    tlsKey: plain ? "" : text(raw, "tls_key", "vw-device-key.der"),
  };
}
