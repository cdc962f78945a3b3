// Test set-up shared by the gateway tests: a config for a private broker and stand-in, an
// in-process gateway with a silent logger, and broker settings that let a QoS 1 subscriber whose
// acks wait for a commit keep up (Mosquitto's defaults: 20 in flight, 1000 queued).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { validateConfig } from "../../../gateway/config/load-config.js";
import type { GatewayConfig } from "../../../gateway/config/config-schema.js";
import { Gateway } from "../../../gateway/gateway.js";

export const BROKER_TUNING = "max_inflight_messages 1000\nmax_queued_messages 1000000\nmax_queued_bytes 0";

export interface FixtureOptions {
  mqttUrl: string;
  sinkUrl: string;
  dir?: string;
  overrides?: Record<string, Record<string, unknown> | string | number>;
}

export function testConfig(options: FixtureOptions): GatewayConfig {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "vw-gw-test-"));
  const base: Record<string, unknown> = {
    gatewayId: "gw-test",
    site: "site-a",
    logLevel: "error",
    mqtt: { url: options.mqttUrl, clientId: "vw-gw-test", reconnectMs: 200 },
    buffer: { path: join(dir, "buffer.db"), synchronous: "FULL" },
    sink: { url: options.sinkUrl, batchMaxAgeMs: 50, timeoutMs: 1000, backoffBaseMs: 50, backoffMaxMs: 1000 },
    limits: { ratePerS: 100_000, burst: 100_000 },
    http: { port: 0 },
  };
  for (const [key, value] of Object.entries(options.overrides ?? {})) {
    base[key] = typeof value === "object" ? { ...(base[key] as object), ...value } : value;
  }
  return validateConfig(base, "test config");
}

export function writeConfig(config: GatewayConfig, dir: string): string {
  const path = join(dir, "gateway.json");
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

export async function startGateway(config: GatewayConfig): Promise<Gateway> {
  return await Gateway.start(config, { log: pino({ level: config.logLevel }), processMetrics: false });
}
