// The storage seam: every backend (InfluxDB v1 /write, InfluxDB v2 client, embedded SQLite) is a
// Writer with the same reply semantics, checked by one contract suite (test/cloud/writer-contract.ts):
// - write() resolves only once every point it does not list as rejected is stored;
// - a point the storage refuses as data (type conflict, bad point) is listed in `rejected` with a
//   reason, and costs no other point;
// - when the storage is down, slow or refuses service, write() throws StorageUnavailableError and
//   the caller acknowledges nothing (a retry is safe: points are keyed by measurement+tags+time).
import type { RecordRejection } from "../../protocol/batch.js";
import type { StoredRecord } from "./point-schema.js";
import { formatLines, type FormattedLines } from "./line-protocol.js";

export type WriterKind = "influx-v1" | "influx-v2" | "embedded";

export interface WriteResult {
  /** records the storage refused as data: never retried by the gateway */
  rejected: RecordRejection[];
}

export interface Writer {
  readonly kind: WriterKind;
  /** Stores the points; throws StorageUnavailableError when nothing can be promised. */
  write(records: StoredRecord[]): Promise<WriteResult>;
  /** true when the storage answers (for /readyz) */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** Rejection code of a record the storage itself refused (type conflict, bad point). */
export const STORAGE_REJECTED_CODE = "VW_STORAGE_REJECTED";

export type UnavailableReason = "down" | "timeout" | "status" | "auth" | "no-database" | "closed";

/** The storage cannot take the write now: reply 503 + Retry-After, acknowledge nothing. */
export class StorageUnavailableError extends Error {
  constructor(readonly reason: UnavailableReason, message: string) {
    super(message);
    this.name = "StorageUnavailableError";
  }
}

/** The storage refused these lines as data (HTTP 400 / 413 / 422): bisect to find the culprits. */
export class LinesRefusedError extends Error {
  constructor(readonly statusCode: number, message: string) {
    super(message);
    this.name = "LinesRefusedError";
  }
}

/**
 * Sends the formatted lines in chunks of at most `maxLines` (zero-copy slices of one Buffer); when the storage refuses a chunk as data, splits
 * it in halves and resends each (rewriting a stored point is harmless: it overwrites itself),
 * down to single lines, which are then rejected with the storage's message. A batch with one bad
 * line costs about 2·log2(n) extra requests; StorageUnavailableError passes straight through.
 * It keeps only the record ids (`ids[i]` is line i's record), not the records: the decoded batch
 * can be collected while the storage works, instead of surviving (and being copied by) the
 * garbage collector for the whole write.
 */
export async function sendBisecting(
  ids: readonly number[],
  lines: FormattedLines,
  maxLines: number,
  send: (body: Buffer) => Promise<void>,
): Promise<WriteResult> {
  const rejected: RecordRejection[] = [];
  const sendRange = async (start: number, end: number): Promise<void> => {
    try {
      await send(lines.bytes.subarray(lines.offsets[start], lines.offsets[end]));
    } catch (error) {
      if (!(error instanceof LinesRefusedError)) throw error;
      if (end - start === 1) {
        const id = ids[start];
        if (id !== undefined) rejected.push({ id, code: STORAGE_REJECTED_CODE, reason: `storage refused the point (${error.statusCode}): ${error.message}` });
        return;
      }
      const middle = start + Math.ceil((end - start) / 2);
      await sendRange(start, middle);
      await sendRange(middle, end);
    }
  };
  for (let start = 0; start < ids.length; start += maxLines) {
    await sendRange(start, Math.min(ids.length, start + maxLines));
  }
  return { rejected };
}

/** Fetch errors and aborts as StorageUnavailableError. */
/** Formats the records and starts sendBisecting, keeping nothing of the records but their ids. */
export function formatAndSend(records: readonly StoredRecord[], maxLines: number, send: (body: Buffer) => Promise<void>): Promise<WriteResult> {
  const lines = formatLines(records);
  const ids = new Array<number>(records.length);
  for (let index = 0; index < records.length; index += 1) ids[index] = (records[index] as StoredRecord).record.id;
  return sendBisecting(ids, lines, maxLines, send);
}

export function unavailableFrom(error: unknown, what: string): StorageUnavailableError {
  if (error instanceof StorageUnavailableError) return error;
  const name = (error as Error)?.name;
  if (name === "TimeoutError" || name === "AbortError") return new StorageUnavailableError("timeout", `${what} timed out`);
  const cause = (error as { cause?: { code?: string } })?.cause?.code;
  return new StorageUnavailableError("down", `${what} failed: ${cause ?? (error as Error)?.message ?? String(error)}`);
}
