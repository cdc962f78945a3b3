// Shared pieces of the ingest tests: gateway tokens, configs, batches of every record kind, and
// posting them through inject().
import { gzipSync } from "node:zlib";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import type { Batch, BatchRecord } from "../../../protocol/batch.js";
import type { Alert, Status, Telemetry, Will } from "../../../protocol/messages.js";
import { cborEncoder } from "../../../protocol/schema/validate.js";
import { sampleAlert, sampleStatus, sampleTelemetry } from "../../../protocol/examples.js";
import { parseConfig } from "../../../cloud/config/load.js";
import type { IngestConfig } from "../../../cloud/config/schema.js";
import { generateToken, hashToken } from "../../../cloud/auth/token-hash.js";

export const SITE = "plant-1";
export const GW = "gw-plant-1";
export const OTHER_GW = "gw-plant-2";

export interface Tokens {
  token: string;
  otherToken: string;
  gateways: { id: string; tokenHash: string }[];
}

/** Two gateways: one with a scrypt hash, one with sha256 (both formats in use). */
export async function makeTokens(): Promise<Tokens> {
  const token = generateToken(GW);
  const otherToken = generateToken(OTHER_GW);
  return {
    token,
    otherToken,
    gateways: [
      { id: GW, tokenHash: await hashToken(token, "scrypt") },
      { id: OTHER_GW, tokenHash: await hashToken(otherToken, "sha256") },
    ],
  };
}

/** Test config: quiet logs, and no event-loop-delay check (the shared 2-core test machine lags;
 *  under-pressure has its own test). */
export function testConfig(tokens: Tokens, extra: Record<string, unknown> = {}): IngestConfig {
  return parseConfig({ gateways: tokens.gateways, log: { level: "silent" }, pressure: { maxEventLoopDelayMs: 0 }, ...extra });
}

// an hour ago, whole ms (VictoriaMetrics keeps ms and drops points older than its retention)
let nextTs = (Math.floor(Date.now() / 1000) - 3600) * 1_000_000;
let nextId = 1;
/** Unique record ids and storage timestamps (µs), as a gateway would assign them. */
export function recordStamp(): { id: number; ts: number } {
  nextTs += 1000;
  return { id: nextId++, ts: nextTs };
}

export function teleRecord(device: string, seq: number, overrides: Partial<Telemetry> = {}): BatchRecord {
  return { ...recordStamp(), k: "tele", d: device, p: { ...sampleTelemetry, d: device, s: seq, ...overrides } };
}
export function alertRecord(device: string, seq: number, overrides: Partial<Alert> = {}): BatchRecord {
  return { ...recordStamp(), k: "alert", d: device, p: { ...sampleAlert, d: device, s: seq, ...overrides } };
}
export function statusRecord(device: string, seq: number, overrides: Partial<Status> = {}): BatchRecord {
  return { ...recordStamp(), k: "status", d: device, p: { ...sampleStatus, d: device, s: seq, ...overrides } };
}
export function willRecord(device: string): BatchRecord {
  const will: Will = { v: 1, d: device, b: sampleStatus.b, o: false };
  return { ...recordStamp(), k: "status", d: device, p: will };
}
export function gatewayRecord(gateway = GW): BatchRecord {
  return { ...recordStamp(), k: "gw", d: gateway, p: { v: 1, q: 12, qb: 2048, age: 3, up: 600, x: 0, on: 2 } };
}
export function eventRecord(device: string): BatchRecord {
  return { ...recordStamp(), k: "event", d: device, p: { v: 1, e: "offline", n: 1, m: "no status for 90 s" } };
}

let batchCounter = 0;
export function makeBatch(recs: BatchRecord[], gw = GW): Batch {
  batchCounter += 1;
  return { v: 1, gw, site: SITE, id: `${gw}-${String(batchCounter).padStart(6, "0")}`, recs };
}

/** One record of each kind (tele, alert, status, Will, gw, event). */
export function mixedBatch(device = "pump-07"): Batch {
  return makeBatch([teleRecord(device, 1), alertRecord(device, 2), statusRecord(device, 3), willRecord(device), gatewayRecord(), eventRecord(device)]);
}

export interface PostOptions {
  token?: string | null;
  contentType?: string;
  gzip?: boolean;
  /** raw body instead of encoding `batch` */
  raw?: Buffer | string;
  json?: boolean;
}

export async function postBatch(app: FastifyInstance, batch: unknown, options: PostOptions = {}): Promise<LightMyRequestResponse> {
  let payload: Buffer | string = options.raw ?? (options.json ? JSON.stringify(batch) : Buffer.from(cborEncoder.encode(batch)));
  const headers: Record<string, string> = { "content-type": options.contentType ?? (options.json ? "application/json" : "application/cbor") };
  if (options.token !== null && options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.gzip) {
    payload = gzipSync(payload);
    headers["content-encoding"] = "gzip";
  }
  return await app.inject({ method: "POST", url: "/v1/batches", headers, payload });
}
