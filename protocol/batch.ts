// Gateway -> cloud batch (HTTP POST /v1/batches, CBOR or JSON) and the cloud's reply.
// Plain types; runtime schemas in ./schema/batch-schema.ts.
import type { Alert, PayloadVersion, Status, Telemetry, Will } from "./messages.js";
import type { Reading } from "./readings.js";

/** "read": a southbound reading (Modbus, OPC UA, JSON over MQTT; ./readings.ts), device field = the source name */
export type RecordKind = "tele" | "alert" | "status" | "gw" | "event" | "read";
export const RECORD_KINDS: readonly RecordKind[] = ["tele", "alert", "status", "gw", "event", "read"];

/** The gateway's own state, sent as a record of kind "gw" (device field = gateway id). */
export interface GatewayStatus {
  v: PayloadVersion;
  /** records buffered, and their bytes */
  q: number;
  qb: number;
  /** age of the oldest buffered record, s */
  age: number;
  /** uptime, s */
  up: number;
  /** records dropped since start, by any bound */
  x: number;
  /** devices seen online now */
  on: number;
}

export type GatewayEventName = "offline" | "online" | "rate_limited" | "quarantined";

/** A gateway event about a device, record kind "event". */
export interface GatewayEvent {
  v: PayloadVersion;
  /** what happened */
  e: GatewayEventName;
  /** how many (rate_limited, quarantined), else 1 */
  n: number;
  /** short detail */
  m?: string;
}

export type RecordPayload = Telemetry | Alert | Status | Will | GatewayStatus | GatewayEvent | Reading;

export interface BatchRecord {
  /** the gateway's stable record id: assigned once when first persisted, the same on every retry */
  id: number;
  /** storage time, µs since epoch, assigned once when first persisted; unique per gateway.
   *  It is the InfluxDB point time, so a retried write overwrites itself. */
  ts: number;
  k: RecordKind;
  /** device id (for "gw" records: the gateway id; for "read" records: the source name) */
  d: string;
  p: RecordPayload;
}

export interface Batch {
  v: PayloadVersion;
  /** gateway id: must match the bearer token's gateway */
  gw: string;
  site: string;
  /** batch id, for logs and replies (records carry their own ids) */
  id: string;
  recs: BatchRecord[];
}

/** Why one record was refused: the gateway quarantines it and never retries it. */
export interface RecordRejection {
  id: number;
  code: string;
  reason: string;
}

/** 200 reply to a batch: every record is either stored or rejected. */
export interface BatchReply {
  id: string;
  stored: number[];
  rejected: RecordRejection[];
}

/** Every error reply has this one shape (Fastify's). */
export interface ErrorReply {
  statusCode: number;
  code: string;
  error: string;
  message: string;
}
