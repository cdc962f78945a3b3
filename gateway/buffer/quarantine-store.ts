// Bounded quarantine (dead-letter) store for messages that failed validation or that the cloud
// rejected: kept with their reason for inspection, counted per device and reason, the oldest
// evicted beyond the bound (and counted). Lives in the buffer's SQLite file so a message is
// quarantined in the same transaction that acknowledges it; its tables come with the file's
// schema (schema.ts), so this store only reads and writes them.
import type { Database, Statement } from "better-sqlite3";
import type { QuarantineEntry } from "./record-buffer.js";

/** Distinct (device, reason) counters kept; beyond, new pairs count under device "_other". */
const MAX_COUNTER_ROWS = 10_000;

export interface QuarantineCount {
  device: string;
  code: string;
  count: number;
}

export class QuarantineStore {
  #insert: Statement;
  #count: Statement;
  #evict: Statement;
  #bump: Statement;
  #counterRows: Statement;
  #size: number;
  #counters: number;

  /** `db`: a buffer file opened by openBufferFile (schema.ts) */
  constructor(private readonly db: Database, private readonly maxRecords: number, private readonly onEvict: (count: number) => void) {
    this.#insert = db.prepare("INSERT INTO quarantine (at_us, topic, device, code, reason, payload) VALUES (?, ?, ?, ?, ?, ?)");
    this.#count = db.prepare("SELECT count(*) AS n FROM quarantine");
    this.#evict = db.prepare("DELETE FROM quarantine WHERE id IN (SELECT id FROM quarantine ORDER BY id LIMIT ?)");
    this.#bump = db.prepare("INSERT INTO quarantine_counts (device, code, n) VALUES (?, ?, ?) ON CONFLICT (device, code) DO UPDATE SET n = n + excluded.n");
    this.#counterRows = db.prepare("SELECT count(*) AS n FROM quarantine_counts");
    this.#size = (this.#count.get() as { n: number }).n;
    this.#counters = (this.#counterRows.get() as { n: number }).n;
  }

  get size(): number {
    return this.#size;
  }

  /** Adds entries; call inside the caller's transaction. */
  add(entries: QuarantineEntry[]): void {
    if (entries.length === 0) return;
    const nowUs = Date.now() * 1000;
    const perPair = new Map<string, QuarantineCount>();
    for (const entry of entries) {
      // keep at most 4 KiB of the payload: enough to debug, bounded against huge messages
      const payload = entry.payload.length > 4096 ? entry.payload.subarray(0, 4096) : entry.payload;
      this.#insert.run(nowUs, entry.topic.slice(0, 256), entry.device, entry.code, entry.reason.slice(0, 512), payload);
      const key = `${entry.device}\u0000${entry.code}`;
      const pair = perPair.get(key) ?? { device: entry.device, code: entry.code, count: 0 };
      pair.count++;
      perPair.set(key, pair);
    }
    for (const pair of perPair.values()) {
      const device = this.#counters < MAX_COUNTER_ROWS ? pair.device : "_other";
      const changes = this.#bump.run(device, pair.code, pair.count);
      if (changes.changes > 0 && this.#counters < MAX_COUNTER_ROWS) this.#counters = (this.#counterRows.get() as { n: number }).n;
    }
    this.#size += entries.length;
    if (this.#size > this.maxRecords) {
      const excess = this.#size - this.maxRecords;
      this.#evict.run(excess);
      this.#size -= excess;
      this.onEvict(excess);
    }
  }

  /** Counts per device and reason since the file was created. */
  counts(): QuarantineCount[] {
    return (this.db.prepare("SELECT device, code, n FROM quarantine_counts ORDER BY device, code").all() as Array<{ device: string; code: string; n: number }>).map(
      (row) => ({ device: row.device, code: row.code, count: row.n }),
    );
  }

  /** The newest entries, for inspection. */
  latest(limit = 20): Array<{ topic: string; device: string; code: string; reason: string }> {
    return this.db.prepare("SELECT topic, device, code, reason FROM quarantine ORDER BY id DESC LIMIT ?").all(limit) as Array<{ topic: string; device: string; code: string; reason: string }>;
  }
}
