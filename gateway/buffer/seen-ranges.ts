// Dedupe of QoS 1 redelivery: the (device, boot, seq) triples already stored, kept as sorted
// ranges of sequence numbers per (device, boot). A device numbers its messages 0, 1, 2... per
// boot, so an in-order stream is one range, and a commit updates one row per device instead of
// one row per message (that per-message insert cost as much as storing the record itself).
// Persisted in the buffer's file inside the append transaction; changes become visible in memory
// only after the commit, so a failed commit cannot make a redelivered message look like a duplicate.
//
// Bounds (counted): at most MAX_RANGES ranges per (device, boot) (the lowest range is forgotten
// beyond); at most maxEntries (device, boot) pairs (least recently updated forgotten); entries not
// updated for maxAgeS are forgotten. A forgotten entry could let a very late redelivery through.
import type { Database, Statement } from "better-sqlite3";

const MAX_RANGES = 64;

type Ranges = Array<[number, number]>;

interface Entry {
  ranges: Ranges;
  atUs: number;
}

export interface DedupeKey {
  device: string;
  boot: number;
  /** sequence number; -1 for a Last Will (one per boot) */
  seq: number;
}

/** Adds `seq` to sorted, disjoint ranges; false when already present. Mutates `ranges`. */
export function addToRanges(ranges: Ranges, seq: number): boolean {
  // most messages extend the last range: search from the end
  let i = ranges.length - 1;
  while (i >= 0 && (ranges[i] as [number, number])[0] > seq) i--;
  // ranges[i] starts at or below seq (or i = -1)
  if (i >= 0) {
    const range = ranges[i] as [number, number];
    if (seq <= range[1]) return false;
    if (seq === range[1] + 1) {
      range[1] = seq;
      const next = ranges[i + 1];
      if (next && next[0] === seq + 1) {
        range[1] = next[1];
        ranges.splice(i + 1, 1);
      }
      return true;
    }
  }
  const next = ranges[i + 1];
  if (next && next[0] === seq + 1) {
    next[0] = seq;
    return true;
  }
  ranges.splice(i + 1, 0, [seq, seq]);
  return true;
}

export class SeenRanges {
  #entries = new Map<string, Entry>();
  #staged = new Map<string, Entry>();
  #upsert: Statement;
  #delete: Statement;
  /** (device, boot) entries or ranges forgotten by a bound */
  forgotten = 0;

  constructor(db: Database, private readonly maxEntries: number, private readonly maxAgeS: number) {
    // In the buffer's file the table comes from its schema (schema.ts, migration 1) and this is a
    // no-op; it stays so that a SeenRanges works on a bare database (its own tests). A change to
    // the table is a migration in schema.ts, never an edit here.
    db.exec("CREATE TABLE IF NOT EXISTS seen_ranges (k TEXT PRIMARY KEY, ranges TEXT NOT NULL, at_us INTEGER NOT NULL) WITHOUT ROWID");
    this.#upsert = db.prepare("INSERT INTO seen_ranges (k, ranges, at_us) VALUES (?, ?, ?) ON CONFLICT (k) DO UPDATE SET ranges = excluded.ranges, at_us = excluded.at_us");
    this.#delete = db.prepare("DELETE FROM seen_ranges WHERE k = ?");
    const rows = db.prepare("SELECT k, ranges, at_us FROM seen_ranges ORDER BY at_us").all() as Array<{ k: string; ranges: string; at_us: number }>;
    for (const row of rows) this.#entries.set(row.k, { ranges: JSON.parse(row.ranges) as Ranges, atUs: row.at_us });
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Inside a transaction: true if the key is new (and stages it), false for a duplicate. */
  add(key: DedupeKey, nowUs: number): boolean {
    const k = `${key.device}/${key.boot}`;
    let entry = this.#staged.get(k);
    if (!entry) {
      const committed = this.#entries.get(k);
      entry = { ranges: committed ? committed.ranges.map((range) => [range[0], range[1]] as [number, number]) : [], atUs: nowUs };
      this.#staged.set(k, entry);
    }
    entry.atUs = nowUs;
    if (!addToRanges(entry.ranges, key.seq)) return false;
    if (entry.ranges.length > MAX_RANGES) {
      entry.ranges.shift();
      this.forgotten++;
    }
    return true;
  }

  /** Inside the transaction, after the adds: writes the staged entries. */
  persist(): void {
    for (const [k, entry] of this.#staged) this.#upsert.run(k, JSON.stringify(entry.ranges), entry.atUs);
  }

  /** After a successful commit: the staged entries become the truth (and bounds apply). */
  commit(nowUs: number): void {
    for (const [k, entry] of this.#staged) {
      this.#entries.delete(k); // re-insert: Map order = least recently updated first
      this.#entries.set(k, entry);
    }
    this.#staged.clear();
    const cutoff = nowUs - this.maxAgeS * 1e6;
    for (const [k, entry] of this.#entries) {
      if (this.#entries.size <= this.maxEntries && entry.atUs >= cutoff) break;
      this.#entries.delete(k);
      this.#delete.run(k);
      this.forgotten++;
    }
  }

  /** After a failed commit: forget what was staged. */
  rollback(): void {
    this.#staged.clear();
  }
}
