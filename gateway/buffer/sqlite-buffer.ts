// The durable buffer on SQLite (better-sqlite3, WAL mode). Why SQLite and not LMDB: one file with
// transactions that a group commit maps onto directly, crash safety proven on SD cards and power
// cuts, AUTOINCREMENT ids that are never reused, ordered range scans for oldest-first batches,
// and an inspectable file (`sqlite3 buffer.db`) on a site gateway. LMDB would be faster for reads
// but needs its map size fixed up front and gives no SQL to inspect a backlog with.
//
// synchronous=FULL (default) fsyncs the WAL at every commit: a message acknowledged to the broker
// survives a power cut. NORMAL would only fsync at checkpoints: still consistent after a power
// cut, but the last commits may vanish although they were acknowledged, i.e. lost readings.
// Group commits (many messages per transaction) keep FULL affordable.
//
// Record ids and timestamps are assigned here, once, at first persist; both strictly increase,
// so "oldest first" is id order and the oldest record is the first row.
//
// This file composes the parts and owns the transactions and their commit modes: the file's
// layout and upgrades (schema.ts), the in-memory tail of recent records (hot-tail.ts), the
// records in flight (lease-ledger.ts), the bounds (eviction.ts), the dedupe (seen-ranges.ts) and
// the quarantine (quarantine-store.ts).
import type { Database as Db, Statement } from "better-sqlite3";
import type { RecordKind } from "../../protocol/batch.js";
import { countByKind, pickVictims, type DroppableRow } from "./eviction.js";
import { HOT_MAX_RECORDS, HotTail, type HotRecord } from "./hot-tail.js";
import { LeaseLedger } from "./lease-ledger.js";
import { QuarantineStore } from "./quarantine-store.js";
import { openBufferFile } from "./schema.js";
import { SeenRanges } from "./seen-ranges.js";
import {
  isPriorityKind,
  type AppendResult,
  type BufferHooks,
  type BufferStats,
  type NewRecord,
  type PendingCounts,
  type QuarantineEntry,
  type RecordBuffer,
  type RejectedRecord,
  type StoredRecord,
} from "./record-buffer.js";

export interface SqliteBufferOptions {
  path: string;
  maxBytes: number;
  maxAgeS: number;
  synchronous?: "FULL" | "NORMAL";
  dedupeMaxEntries?: number;
  dedupeMaxAgeS?: number;
  quarantineMaxRecords?: number;
  /** records per priority class kept in memory for lease() (the hot tail) */
  hotTailMaxRecords?: number;
  hooks?: BufferHooks;
  /** clock, µs since epoch (tests) */
  nowUs?: () => number;
}

interface Row {
  id: number;
  ts: number;
  kind: RecordKind;
  device: string;
  body: Buffer;
  prio: number;
}

/** rows per multi-row INSERT (x 7 parameters, far below SQLite's limit of 32,766) */
const INSERT_ROWS = 64;
const INSERT_COLUMNS = 7;

/** a lease row in raw mode: id, ts, kind, device, body, bytes */
type LeaseRow = [number, number, RecordKind, string, Buffer, number];

const PRIORITY = 1;
const NORMAL = 0;

export class SqliteBuffer implements RecordBuffer {
  readonly db: Db;
  readonly quarantine: QuarantineStore;
  readonly #options: Required<Omit<SqliteBufferOptions, "hooks" | "nowUs">>;
  readonly #hooks: BufferHooks;
  readonly #nowUs: () => number;
  #lastTsUs: number;
  /** ids are assigned here, not by AUTOINCREMENT (which updates sqlite_sequence on every insert),
   *  and never reused: the last one is kept in meta with each commit */
  #lastId: number;
  #records = 0;
  #bytes = 0;
  #priorityRecords = 0;
  readonly #leases = new LeaseLedger();
  /** the NORMAL class's records appended by this process (see HotTail) */
  #hot: HotTail;
  /** the last append's NORMAL records, for the hot tail once its transaction committed */
  #appended: HotRecord[] = [];
  /** records removed inside the current transaction, for the hot tail once it committed */
  #removed: number[] = [];
  readonly #seen: SeenRanges;
  readonly #st: Record<string, Statement>;
  /** multi-row INSERTs by row count, prepared when first needed */
  readonly #insertRows: Statement[] = [];

  constructor(options: SqliteBufferOptions) {
    this.#options = {
      synchronous: "FULL",
      dedupeMaxEntries: 1_000_000,
      dedupeMaxAgeS: 86_400,
      quarantineMaxRecords: 10_000,
      hotTailMaxRecords: HOT_MAX_RECORDS,
      ...options,
    } as Required<Omit<SqliteBufferOptions, "hooks" | "nowUs">>;
    this.#hooks = options.hooks ?? {};
    this.#nowUs = options.nowUs ?? (() => Date.now() * 1000);
    // refuses a file newer than this code (BufferFileError), upgrades an older one
    const db = openBufferFile(options.path, { synchronous: this.#options.synchronous });
    this.db = db;
    this.#seen = new SeenRanges(db, this.#options.dedupeMaxEntries, this.#options.dedupeMaxAgeS);
    this.quarantine = new QuarantineStore(db, this.#options.quarantineMaxRecords, (count) => this.#hooks.dropped?.("quarantine_full", "quarantine", count));
    const st = (sql: string) => db.prepare(sql);
    this.#st = {
      // a group commit's rows go in INSERT_ROWS at a time: one statement step per row costs more
      insertMany: st(`INSERT INTO records (id, ts, kind, device, prio, bytes, body) VALUES ${Array<string>(INSERT_ROWS).fill("(?, ?, ?, ?, ?, ?, ?)").join(", ")}`),
      setMeta: st("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"),
      // raw rows (arrays): a batch reads thousands of rows, and arrays cost half of objects
      lease: st("SELECT id, ts, kind, device, body, bytes FROM records WHERE prio = ? AND id > ? ORDER BY id LIMIT ?").raw(true),
      oldestPending: st("SELECT ts FROM records WHERE prio = ? AND id > ? ORDER BY id LIMIT 1"),
      // ts grows with id (both assigned at persist), so the oldest is the first row: no scan
      oldest: st("SELECT ts FROM records ORDER BY id LIMIT 1"),
      remove: st("DELETE FROM records WHERE id = ? RETURNING bytes, prio"),
      removeRange: st("DELETE FROM records WHERE id >= ? AND id <= ?"),
      get: st("SELECT id, ts, kind, device, body, prio FROM records WHERE id = ?"),
      droppable: st("SELECT id, bytes, ts, kind FROM records WHERE prio = 0 ORDER BY id"),
      syncNormal: st("PRAGMA synchronous = NORMAL"),
      syncFull: st("PRAGMA synchronous = FULL"),
    };
    const totals = db.prepare("SELECT count(*) AS n, coalesce(sum(bytes), 0) AS b, coalesce(sum(prio), 0) AS p FROM records").get() as { n: number; b: number; p: number };
    this.#records = totals.n;
    this.#bytes = totals.b;
    this.#priorityRecords = totals.p;
    const metaValue = (key: string) => (db.prepare("SELECT value FROM meta WHERE key = ?").get(key) as { value: number } | undefined)?.value ?? 0;
    const last = db.prepare("SELECT coalesce(max(id), 0) AS id, coalesce(max(ts), 0) AS ts FROM records").get() as { id: number; ts: number };
    this.#lastTsUs = Math.max(metaValue("last_ts_us"), last.ts);
    this.#lastId = Math.max(metaValue("last_id"), last.id);
    // what an earlier process stored is read from the table
    this.#hot = new HotTail(this.#lastId + 1, this.#options.hotTailMaxRecords);
  }

  /** Runs `work` in a transaction; the hot tail follows only a committed one, and any failure
   *  empties it (the table is the truth), so a rolled-back change never shows in a lease. */
  #transaction<T>(work: () => T, durability: "sync" | "lazy" = "sync"): T {
    this.#appended = [];
    this.#removed = [];
    let result: T;
    // "lazy": a deletion need not reach the disk at its commit. Lost by a power cut, it only
    // brings records the cloud already has back to the buffer, and resending them is harmless
    // (the cloud stores idempotently); the next synchronous commit makes it durable anyway.
    const lazy = durability === "lazy" && this.#options.synchronous === "FULL";
    if (lazy) this.#st.syncNormal!.run();
    try {
      result = this.db.transaction(work)();
    } catch (error) {
      this.#hot.reset(this.#lastId + 1);
      this.#appended = [];
      this.#removed = [];
      throw error;
    } finally {
      if (lazy) this.#st.syncFull!.run();
    }
    if (this.#appended.length > 0) {
      const first = (this.#appended[0] as HotRecord).id;
      // the tail switched itself off on overflow; it caches again once the sink is close (what it
      // has not leased before this commit is at most half the tail's bound)
      if (this.#hot.off && first - 1 - (this.#leases.cursor[NORMAL] as number) <= this.#options.hotTailMaxRecords / 2) this.#hot.resume(first);
      this.#hot.addAll(this.#appended);
    }
    if (this.#removed.length > 0) this.#hot.deleteAll(this.#removed);
    this.#appended = [];
    this.#removed = [];
    return result;
  }

  /** the INSERT of `count` rows (< INSERT_ROWS: a commit's last rows, in one step, not one per row) */
  #insertStatement(count: number): Statement {
    let statement = this.#insertRows[count];
    if (!statement) {
      statement = this.db.prepare(`INSERT INTO records (id, ts, kind, device, prio, bytes, body) VALUES ${Array<string>(count).fill("(?, ?, ?, ?, ?, ?, ?)").join(", ")}`);
      this.#insertRows[count] = statement;
    }
    return statement;
  }

  #nextTs(): number {
    // strictly increasing per gateway, even if the clock steps back: no two records share an
    // InfluxDB timestamp, and a record keeps its ts on every retry (it is stored with it)
    this.#lastTsUs = Math.max(this.#nowUs(), this.#lastTsUs + 1);
    return this.#lastTsUs;
  }

  readonly #appendTx = (records: NewRecord[], quarantine: QuarantineEntry[]): AppendResult => {
    let stored = 0;
    let duplicates = 0;
    const storedByKind: Partial<Record<RecordKind, number>> = {};
    const nowUs = this.#nowUs();
    const rows: unknown[] = [];
    for (const record of records) {
      if (record.dedupe !== undefined && !this.#seen.add(record.dedupe, nowUs)) {
        duplicates++;
        continue;
      }
      const prio = isPriorityKind(record.kind) ? PRIORITY : NORMAL;
      const id = ++this.#lastId;
      const ts = this.#nextTs();
      rows.push(id, ts, record.kind, record.device, prio, record.body.length, record.body);
      if (prio === NORMAL) this.#appended.push({ id, ts, kind: record.kind, device: record.device, body: record.body, bytes: record.body.length });
      if (rows.length === INSERT_ROWS * INSERT_COLUMNS) {
        this.#st.insertMany!.run(rows);
        rows.length = 0;
      }
      this.#records++;
      this.#bytes += record.body.length;
      if (prio === PRIORITY) this.#priorityRecords++;
      stored++;
      storedByKind[record.kind] = (storedByKind[record.kind] ?? 0) + 1;
    }
    if (rows.length > 0) this.#insertStatement(rows.length / INSERT_COLUMNS).run(rows);
    this.#seen.persist();
    this.quarantine.add(quarantine);
    if (stored > 0) {
      this.#st.setMeta!.run("last_ts_us", this.#lastTsUs);
      this.#st.setMeta!.run("last_id", this.#lastId);
    }
    if (this.#bytes > this.#options.maxBytes) this.#evict("buffer_full", (_row, bytesLeft) => bytesLeft > this.#options.maxBytes);
    return { stored, storedByKind, duplicates, quarantined: quarantine.length };
  };

  append(records: NewRecord[], quarantine: QuarantineEntry[] = []): AppendResult {
    const before = { records: this.#records, bytes: this.#bytes, prio: this.#priorityRecords, ts: this.#lastTsUs, id: this.#lastId };
    let result: AppendResult;
    try {
      result = this.#transaction(() => this.#appendTx(records, quarantine));
      this.#seen.commit(this.#nowUs());
    } catch (error) {
      // rolled back: restore the in-memory state
      this.#seen.rollback();
      this.#records = before.records;
      this.#bytes = before.bytes;
      this.#priorityRecords = before.prio;
      this.#lastTsUs = before.ts;
      this.#lastId = before.id;
      throw error;
    }
    return result;
  }

  /** Deletes the oldest droppable records that are not in flight while `more` holds (eviction.ts). */
  #evict(reason: "buffer_full" | "max_age", more: (row: DroppableRow, bytesLeft: number) => boolean): number {
    const rows = this.#st.droppable!.iterate() as IterableIterator<DroppableRow>;
    const { victims, bytesLeft } = pickVictims(rows, this.#leases, this.#bytes, more);
    this.#bytes = bytesLeft;
    for (const victim of victims) {
      this.#st.remove!.run(victim.id);
      this.#removed.push(victim.id);
      this.#records--;
    }
    for (const [kind, count] of countByKind(victims)) this.#hooks.dropped?.(reason, kind, count);
    return victims.length;
  }

  lease(maxRecords: number, maxBytes: number): StoredRecord[] {
    const out: StoredRecord[] = [];
    const leases = this.#leases;
    let bytes = 0;
    for (const prio of [PRIORITY, NORMAL]) {
      if (out.length >= maxRecords) break;
      if (prio === PRIORITY && this.#priorityRecords - leases.priority <= 0) continue;
      const hot = this.#hot;
      const cursor = leases.cursor;
      if (prio === NORMAL && (cursor[prio] as number) + 1 >= hot.from) {
        // every pending record of this class is in the hot tail; its records are handed out as
        // they are (no copy per record): nothing downstream changes a leased record
        for (let index = hot.firstAfter(cursor[prio] as number); index < hot.length; index++) {
          const record = hot.at(index);
          if (record === undefined || leases.has(record.id)) continue;
          if (out.length >= maxRecords || (out.length > 0 && bytes + record.bytes > maxBytes)) return out;
          cursor[prio] = record.id;
          leases.take(record.id, record.bytes, false);
          bytes += record.bytes;
          out.push(record);
        }
        continue;
      }
      const rows = this.#st.lease!.all(prio, cursor[prio], maxRecords - out.length) as LeaseRow[];
      for (const [id, ts, kind, device, body, rowBytes] of rows) {
        if (out.length > 0 && bytes + rowBytes > maxBytes) return out;
        cursor[prio] = id;
        if (leases.has(id)) continue;
        leases.take(id, rowBytes, prio === PRIORITY);
        bytes += rowBytes;
        out.push({ id, ts, kind, device, body });
      }
    }
    return out;
  }

  #delete(ids: number[]): void {
    // leased records (the normal case) are deleted by runs of consecutive ids, one statement per
    // run, with the totals taken from the lease; anything else one by one
    const leased = ids.filter((id) => this.#leases.has(id)).sort((a, b) => a - b);
    for (let start = 0; start < leased.length; ) {
      let end = start;
      while (end + 1 < leased.length && leased[end + 1] === (leased[end] as number) + 1) end++;
      this.#st.removeRange!.run(leased[start], leased[end]);
      for (let i = start; i <= end; i++) {
        const id = leased[i] as number;
        this.#removed.push(id);
        this.#bytes -= this.#leases.bytesOf(id) as number;
        this.#records--;
        if (this.#leases.end(id)) this.#priorityRecords--;
      }
      start = end + 1;
    }
    if (leased.length === ids.length) return; // the usual case: every id was leased
    const deleted = new Set(leased);
    for (const id of ids) {
      if (deleted.has(id)) continue;
      const row = this.#st.remove!.get(id) as { bytes: number; prio: number } | undefined;
      if (row) {
        this.#removed.push(id);
        this.#records--;
        this.#bytes -= row.bytes;
        if (row.prio === PRIORITY) this.#priorityRecords--;
      }
    }
  }

  complete(ids: number[]): void {
    if (ids.length > 0) this.#transaction(() => this.#delete(ids), "lazy");
  }

  reject(rejections: RejectedRecord[]): void {
    if (rejections.length === 0) return;
    this.#transaction(() => {
      const entries: QuarantineEntry[] = [];
      for (const rejection of rejections) {
        const row = this.#st.get!.get(rejection.id) as Row | undefined;
        if (!row) continue;
        entries.push({ topic: `cloud-rejected/${row.kind}`, device: row.device, code: rejection.code, reason: rejection.reason, payload: row.body });
      }
      this.#delete(rejections.map((rejection) => rejection.id));
      this.quarantine.add(entries);
    });
  }

  release(ids: number[]): void {
    for (const id of ids) {
      if (!this.#leases.has(id)) continue;
      this.#leases.end(id);
      const row = this.#st.get!.get(id) as Row | undefined;
      if (!row) continue;
      // rewind the cursor so the record is leased again, in order
      this.#leases.rewind(row.prio, id);
    }
  }

  expire(nowUs = this.#nowUs()): number {
    const cutoff = nowUs - this.#options.maxAgeS * 1e6;
    return this.#transaction(() => this.#evict("max_age", (row) => row.ts < cutoff));
  }

  pending(): PendingCounts {
    return {
      pendingRecords: this.#records - this.#leases.size,
      pendingBytes: this.#bytes - this.#leases.bytes,
      pendingPriority: this.#priorityRecords - this.#leases.priority,
    };
  }

  /** (device, boot) dedupe entries or ranges forgotten by a bound (a very late redelivery could pass) */
  get dedupeForgotten(): number {
    return this.#seen.forgotten;
  }

  /** ts of the first record of a class after its lease cursor (what the sink's age check needs) */
  #oldestPendingTs(prio: number): number | undefined {
    const cursor = this.#leases.cursor[prio] as number;
    if (prio === PRIORITY && this.#priorityRecords - this.#leases.priority <= 0) return undefined;
    if (prio === NORMAL && cursor + 1 >= this.#hot.from) {
      // the hot tail holds every record of the class above the cursor: no query (the sink asks
      // after every commit while a batch is not full)
      const hot = this.#hot;
      for (let index = hot.firstAfter(cursor); index < hot.length; index++) {
        const record = hot.at(index);
        if (record !== undefined) return record.ts;
      }
      return undefined;
    }
    return (this.#st.oldestPending!.get(prio, cursor) as { ts: number } | undefined)?.ts;
  }

  stats(): BufferStats {
    const oldestPending = [this.#oldestPendingTs(PRIORITY), this.#oldestPendingTs(NORMAL)].filter((ts): ts is number => ts !== undefined);
    return {
      records: this.#records,
      bytes: this.#bytes,
      pendingRecords: this.#records - this.#leases.size,
      pendingBytes: this.#bytes - this.#leases.bytes,
      pendingPriority: this.#priorityRecords - this.#leases.priority,
      oldestTsUs: this.#records > 0 ? (this.#st.oldest!.get() as { ts: number }).ts : null,
      oldestPendingTsUs: oldestPending.length > 0 ? Math.min(...oldestPending) : null,
      quarantined: this.quarantine.size,
    };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
