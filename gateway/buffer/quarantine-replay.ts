// Read access to the buffer file's quarantine for `vibewatch quarantine list|show|replay`, on a
// connection of its own (better-sqlite3; the file is in WAL mode, so reading never blocks the
// gateway), plus the one write a replay needs: marking an entry replayed. quarantine-store.ts owns
// adding and evicting entries; this file only reads its tables, and rewrites the code and reason of
// an entry it replayed (the row stays, so the store's own count stays right).
import Database from "better-sqlite3";

/** The code a replayed entry carries from then on (its original code is kept in its reason). */
export const REPLAYED_CODE = "VW_REPLAYED";

export interface QuarantineSummary {
  id: number;
  /** when it was quarantined, µs since epoch */
  atUs: number;
  topic: string;
  device: string;
  code: string;
  reason: string;
  payloadBytes: number;
}

export interface QuarantineEntryRow extends QuarantineSummary {
  payload: Uint8Array;
}

export interface QuarantineFilter {
  code?: string;
  device?: string;
  /** only entries with a topic starting with this */
  topicPrefix?: string;
  limit?: number;
  /** entries with a larger id than this (paging) */
  afterId?: number;
}

export class QuarantineReader {
  readonly #db: Database.Database;

  /** `path`: the gateway's buffer file; readonly for list/show. Waits up to 5 s for the gateway's write lock. */
  constructor(path: string, options: { readonly?: boolean } = {}) {
    this.#db = new Database(path, { readonly: options.readonly ?? true, fileMustExist: true, timeout: 5000 });
    const table = this.#db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'quarantine'").get();
    if (!table) {
      this.#db.close();
      throw new Error(`${path} is not a vibewatch gateway buffer file (no quarantine table)`);
    }
  }

  list(filter: QuarantineFilter = {}): QuarantineSummary[] {
    const where: string[] = ["id > ?"];
    const args: unknown[] = [filter.afterId ?? 0];
    if (filter.code) {
      where.push("code = ?");
      args.push(filter.code);
    }
    if (filter.device) {
      where.push("device = ?");
      args.push(filter.device);
    }
    if (filter.topicPrefix) {
      where.push("substr(topic, 1, ?) = ?");
      args.push(filter.topicPrefix.length, filter.topicPrefix);
    }
    args.push(filter.limit ?? 100);
    const rows = this.#db
      .prepare(`SELECT id, at_us, topic, device, code, reason, length(payload) AS bytes FROM quarantine WHERE ${where.join(" AND ")} ORDER BY id LIMIT ?`)
      .all(...args) as Array<{ id: number; at_us: number; topic: string; device: string; code: string; reason: string; bytes: number }>;
    return rows.map((row) => ({ id: row.id, atUs: row.at_us, topic: row.topic, device: row.device, code: row.code, reason: row.reason, payloadBytes: row.bytes }));
  }

  get(id: number): QuarantineEntryRow | undefined {
    const row = this.#db.prepare("SELECT id, at_us, topic, device, code, reason, payload FROM quarantine WHERE id = ?").get(id) as
      | { id: number; at_us: number; topic: string; device: string; code: string; reason: string; payload: Buffer }
      | undefined;
    if (!row) return undefined;
    return { id: row.id, atUs: row.at_us, topic: row.topic, device: row.device, code: row.code, reason: row.reason, payload: new Uint8Array(row.payload), payloadBytes: row.payload.length };
  }

  /** Counts per device and code since the file was created (quarantine_counts). */
  counts(): Array<{ device: string; code: string; count: number }> {
    return (this.#db.prepare("SELECT device, code, n FROM quarantine_counts ORDER BY device, code").all() as Array<{ device: string; code: string; n: number }>).map((r) => ({ device: r.device, code: r.code, count: r.n }));
  }

  /** Marks an entry replayed: code VW_REPLAYED, the reason says when, as what, and what it was. */
  markReplayed(id: number, note: string): void {
    const row = this.get(id);
    if (!row || row.code === REPLAYED_CODE) return;
    this.#db.prepare("UPDATE quarantine SET code = ?, reason = ? WHERE id = ?").run(REPLAYED_CODE, `${note} (was ${row.code}: ${row.reason})`.slice(0, 512), id);
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}
