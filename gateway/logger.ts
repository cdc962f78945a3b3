// Structured JSON logs (pino). The bearer token and MQTT password must never reach a log line:
// redaction covers every place they could appear.
import pino, { type Logger } from "pino";

export const REDACTED_PATHS = [
  "token",
  "password",
  "authorization",
  "headers.authorization",
  "*.token",
  "*.password",
  "*.authorization",
  "config.sink.token",
  "config.mqtt.password",
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options = { level, base: { service: "vibewatch-gateway" }, redact: { paths: REDACTED_PATHS, censor: "[redacted]" } };
  return destination ? pino(options, destination) : pino(options);
}
