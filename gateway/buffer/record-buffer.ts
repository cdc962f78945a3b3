// The durable store-and-forward buffer between the MQTT source and the HTTP sink, as an interface:
// the SQLite implementation (sqlite-buffer.ts) and any other must pass test/gateway/buffer-contract.ts.
//
// Policy (documented, counted): a record is kept until the cloud says it is stored (complete) or
// rejected it (reject -> quarantine). Bounded by payload bytes and by age: beyond either, the oldest
// droppable records (telemetry, status, gateway status) go first; alerts and events are never dropped.
import type { RecordKind } from "../../protocol/batch.js";
import type { DedupeKey } from "./seen-ranges.js";

export type { DedupeKey };

export interface NewRecord {
  kind: RecordKind;
  device: string;
  /** the CBOR payload, exactly as it will be forwarded */
  body: Uint8Array;
  /** (device, boot, seq): a second record with the same key is a duplicate and is not stored */
  dedupe?: DedupeKey;
}

export interface StoredRecord {
  /** stable id, assigned once at first persist */
  id: number;
  /** storage time, µs since epoch, assigned once at first persist, strictly increasing */
  ts: number;
  kind: RecordKind;
  device: string;
  body: Uint8Array;
}

export interface QuarantineEntry {
  topic: string;
  device: string;
  code: string;
  reason: string;
  payload: Uint8Array;
}

export interface RejectedRecord {
  id: number;
  code: string;
  reason: string;
}

export interface AppendResult {
  stored: number;
  storedByKind: Partial<Record<RecordKind, number>>;
  duplicates: number;
  quarantined: number;
}

export type DropReason = "buffer_full" | "max_age" | "quarantine_full";

export interface BufferStats {
  records: number;
  bytes: number;
  /** records not leased to a batch in flight */
  pendingRecords: number;
  pendingBytes: number;
  /** pending alerts/events, which the sink sends at once */
  pendingPriority: number;
  /** storage time of the oldest record, µs, or null when empty */
  oldestTsUs: number | null;
  /** storage time of the oldest pending record, µs, or null */
  oldestPendingTsUs: number | null;
  quarantined: number;
}

export type PendingCounts = Pick<BufferStats, "pendingRecords" | "pendingBytes" | "pendingPriority">;

export interface BufferHooks {
  dropped?(reason: DropReason, kind: RecordKind | "quarantine", count: number): void;
}

export interface RecordBuffer {
  /** Stores records and quarantine entries in one durable transaction; returns when committed. */
  append(records: NewRecord[], quarantine?: QuarantineEntry[]): AppendResult;
  /** Takes pending records for a batch: alerts/events first, then oldest first; they stay leased until complete/reject/release. */
  lease(maxRecords: number, maxBytes: number): StoredRecord[];
  /** The cloud stored these: delete them. */
  complete(ids: number[]): void;
  /** The cloud refused these for good: delete them and quarantine them with the reason. */
  reject(rejections: RejectedRecord[]): void;
  /** Give leased records back (they will be leased again, in order). */
  release(ids: number[]): void;
  /** Drops droppable records older than maxAge; returns how many. */
  expire(nowUs?: number): number;
  stats(): BufferStats;
  /** The pending counts of stats() alone, from memory: what the sink checks after every commit. */
  pending(): PendingCounts;
  close(): void;
}

/** Alerts and gateway events are never dropped and go to the cloud first. */
export function isPriorityKind(kind: RecordKind): boolean {
  return kind === "alert" || kind === "event";
}
