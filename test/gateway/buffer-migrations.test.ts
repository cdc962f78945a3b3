// Guards the buffer file on field gateways across upgrades (issue 14, finding 3): a file written
// before the schema was versioned opens with every record, id, timestamp, dedupe entry and
// quarantine entry intact and is stamped version 1 without any other change; a file from a newer
// release is refused with an error naming it and both versions, and is left byte-identical; a
// fresh file gets the latest version.
//
// Today's format is built by writeUnversionedFile() below with the exact SQL the code before
// versioning ran (commit b0487d0: the pragmas and CREATE statements of sqlite-buffer.ts,
// seen-ranges.ts and validation/quarantine-store.ts at open, and the INSERTs of their append
// paths), not with the current code, which would only prove that the new code reads its own
// files. That the generator reproduces the old code's layout is checked against
// UNVERSIONED_LAYOUT, the schema dumped from a file that the code at b0487d0 itself created.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { BufferFileError, MIGRATIONS, SCHEMA_VERSION, schemaOf } from "../../gateway/buffer/schema.js";
import { SqliteBuffer } from "../../gateway/buffer/sqlite-buffer.js";

const dir = mkdtempSync(join(tmpdir(), "vw-buffer-migrations-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshPath = () => join(dir, `buffer-${files++}.db`);

/** schemaOf() of a buffer file created by `new SqliteBuffer(...)` at commit b0487d0 */
const UNVERSIONED_LAYOUT = [
  "index priority_records ON records: CREATE INDEX priority_records ON records (id) WHERE prio = 1",
  "table meta ON meta: CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID",
  "table quarantine ON quarantine: CREATE TABLE quarantine (id INTEGER PRIMARY KEY AUTOINCREMENT, at_us INTEGER NOT NULL, topic TEXT NOT NULL, device TEXT NOT NULL, code TEXT NOT NULL, reason TEXT NOT NULL, payload BLOB NOT NULL)",
  "table quarantine_counts ON quarantine_counts: CREATE TABLE quarantine_counts (device TEXT NOT NULL, code TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (device, code)) WITHOUT ROWID",
  "table records ON records: CREATE TABLE records (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, kind TEXT NOT NULL, device TEXT NOT NULL, prio INTEGER NOT NULL, bytes INTEGER NOT NULL, body BLOB NOT NULL)",
  "table seen_ranges ON seen_ranges: CREATE TABLE seen_ranges (k TEXT PRIMARY KEY, ranges TEXT NOT NULL, at_us INTEGER NOT NULL) WITHOUT ROWID",
  "table sqlite_sequence ON sqlite_sequence: CREATE TABLE sqlite_sequence(name,seq)",
];

const T0 = 1_764_331_200_000_000; // µs
const body = (n: number) => Uint8Array.from({ length: 4 }, (_, i) => (n * 16 + i) % 256);

/** What the old file holds: ids 1-5 (2 was forwarded, 6 was the newest and forwarded too, so the
 *  next id must be 7), 5 an alert; dedupe of device d-1 boot 7 up to seq 5; two quarantined. */
const OLD_RECORDS = [
  { id: 1, ts: T0 + 1, kind: "tele", device: "d-1", prio: 0, body: body(1) },
  { id: 3, ts: T0 + 3, kind: "tele", device: "d-1", prio: 0, body: body(3) },
  { id: 4, ts: T0 + 4, kind: "status", device: "d-1", prio: 0, body: body(4) },
  { id: 5, ts: T0 + 5, kind: "alert", device: "d-1", prio: 1, body: body(5) },
];
const OLD_LAST = { id: 6, tsUs: T0 + 6 };

function writeUnversionedFile(path: string, options: { complete?: boolean } = {}): void {
  const db = new Database(path);
  // SqliteBuffer's constructor, in its order
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.pragma("cache_size = -16000");
  db.exec(`
      CREATE TABLE IF NOT EXISTS records (
        id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, kind TEXT NOT NULL,
        device TEXT NOT NULL, prio INTEGER NOT NULL, bytes INTEGER NOT NULL, body BLOB NOT NULL);
      -- only alerts/events are indexed (a partial index): telemetry is read in rowid order
      CREATE INDEX IF NOT EXISTS priority_records ON records (id) WHERE prio = 1;
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;`);
  if (options.complete === false) {
    db.close(); // a crash before SeenRanges' and QuarantineStore's statements ran
    return;
  }
  // SeenRanges' constructor
  db.exec("CREATE TABLE IF NOT EXISTS seen_ranges (k TEXT PRIMARY KEY, ranges TEXT NOT NULL, at_us INTEGER NOT NULL) WITHOUT ROWID");
  // QuarantineStore's constructor
  db.exec(`
      CREATE TABLE IF NOT EXISTS quarantine (
        id INTEGER PRIMARY KEY AUTOINCREMENT, at_us INTEGER NOT NULL, topic TEXT NOT NULL,
        device TEXT NOT NULL, code TEXT NOT NULL, reason TEXT NOT NULL, payload BLOB NOT NULL);
      CREATE TABLE IF NOT EXISTS quarantine_counts (
        device TEXT NOT NULL, code TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (device, code)) WITHOUT ROWID;`);
  // the append and reject paths' statements
  const insert = db.prepare("INSERT INTO records (id, ts, kind, device, prio, bytes, body) VALUES (?, ?, ?, ?, ?, ?, ?)");
  const setMeta = db.prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
  const upsertSeen = db.prepare("INSERT INTO seen_ranges (k, ranges, at_us) VALUES (?, ?, ?) ON CONFLICT (k) DO UPDATE SET ranges = excluded.ranges, at_us = excluded.at_us");
  const quarantine = db.prepare("INSERT INTO quarantine (at_us, topic, device, code, reason, payload) VALUES (?, ?, ?, ?, ?, ?)");
  const bump = db.prepare("INSERT INTO quarantine_counts (device, code, n) VALUES (?, ?, ?) ON CONFLICT (device, code) DO UPDATE SET n = n + excluded.n");
  db.transaction(() => {
    for (const r of OLD_RECORDS) insert.run(r.id, r.ts, r.kind, r.device, r.prio, r.body.length, r.body);
    upsertSeen.run("d-1/7", JSON.stringify([[0, 5]]), T0 + 6);
    quarantine.run(T0, "vw/v1/s/d-2/tele", "d-2", "VW_SCHEMA", "rms out of range", Uint8Array.from([1, 2]));
    quarantine.run(T0, "cloud-rejected/tele", "d-1", "VW_FIELD_TYPE", "field type conflict", Uint8Array.from([3]));
    bump.run("d-2", "VW_SCHEMA", 1);
    bump.run("d-1", "VW_FIELD_TYPE", 1);
    setMeta.run("last_ts_us", OLD_LAST.tsUs);
    setMeta.run("last_id", OLD_LAST.id);
  })();
  db.close();
}

/** every row of every table, for "nothing changed" */
function contents(path: string): unknown {
  const db = new Database(path, { readonly: true });
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>).map((t) => t.name);
  const out = Object.fromEntries(tables.map((name) => [name, db.prepare(`SELECT * FROM "${name}" ORDER BY 1, 2`).all()]));
  db.close();
  return out;
}

const readVersion = (path: string) => {
  const db = new Database(path, { readonly: true });
  const version = db.pragma("user_version", { simple: true }) as number;
  db.close();
  return version;
};
const layout = (path: string) => {
  const db = new Database(path, { readonly: true });
  const objects = schemaOf(db);
  db.close();
  return objects;
};
const plain = (records: Array<{ id: number; ts: number; kind: string; device: string; body: Uint8Array }>) =>
  records.map((r) => ({ id: r.id, ts: r.ts, kind: r.kind, device: r.device, body: Array.from(r.body) }));

describe("the buffer file's schema version", () => {
  it("the fixture generator writes the layout of the code before versioning (user_version 0)", () => {
    const path = freshPath();
    writeUnversionedFile(path);
    expect(layout(path)).toEqual(UNVERSIONED_LAYOUT);
    expect(readVersion(path)).toBe(0);
  });

  it("opens a file written before versioning: records, ids, timestamps, dedupe and quarantine intact, stamped version 1, nothing else changed", () => {
    const path = freshPath();
    writeUnversionedFile(path);
    const before = contents(path);
    const buffer = new SqliteBuffer({ path, maxBytes: 1e9, maxAgeS: 1e6, nowUs: () => T0 });
    buffer.close();
    expect(readVersion(path)).toBe(1);
    expect(layout(path)).toEqual(UNVERSIONED_LAYOUT);
    expect(contents(path)).toEqual(before);

    const reopened = new SqliteBuffer({ path, maxBytes: 1e9, maxAgeS: 1e6, nowUs: () => T0 });
    expect(reopened.stats()).toMatchObject({ records: 4, bytes: 16, pendingRecords: 4, pendingPriority: 1, oldestTsUs: T0 + 1, quarantined: 2 });
    // leases are memory-only: whatever was in flight when the old process stopped is pending
    // again, alerts first, then oldest first, with the ids and timestamps it had
    const leased = reopened.lease(10, 1e9);
    const expected = [OLD_RECORDS[3]!, ...OLD_RECORDS.slice(0, 3)];
    expect(plain(leased)).toEqual(plain(expected));
    expect(reopened.quarantine.counts()).toEqual([
      { device: "d-1", code: "VW_FIELD_TYPE", count: 1 },
      { device: "d-2", code: "VW_SCHEMA", count: 1 },
    ]);
    expect(reopened.quarantine.latest()).toEqual([
      { topic: "cloud-rejected/tele", device: "d-1", code: "VW_FIELD_TYPE", reason: "field type conflict" },
      { topic: "vw/v1/s/d-2/tele", device: "d-2", code: "VW_SCHEMA", reason: "rms out of range" },
    ]);
    // the dedupe remembers what the old process stored; new ids and timestamps continue above its last
    const redelivered = reopened.append([{ kind: "tele", device: "d-1", body: body(9), dedupe: { device: "d-1", boot: 7, seq: 5 } }]);
    expect(redelivered).toMatchObject({ stored: 0, duplicates: 1 });
    reopened.append([{ kind: "tele", device: "d-1", body: body(10), dedupe: { device: "d-1", boot: 7, seq: 6 } }]);
    const [next] = reopened.lease(10, 1e9);
    expect(next!.id).toBe(OLD_LAST.id + 1);
    expect(next!.ts).toBe(OLD_LAST.tsUs + 1);
    reopened.complete([...leased, next!].map((r) => r.id));
    expect(reopened.stats()).toMatchObject({ records: 0, quarantined: 2 });
    reopened.close();
  });

  it("completes a file whose first open under the old code crashed half-way, and stamps it", () => {
    const path = freshPath();
    writeUnversionedFile(path, { complete: false });
    const buffer = new SqliteBuffer({ path, maxBytes: 1e9, maxAgeS: 1e6 });
    buffer.append([{ kind: "tele", device: "d", body: body(1), dedupe: { device: "d", boot: 1, seq: 0 } }], [{ topic: "t", device: "d", code: "VW_SCHEMA", reason: "r", payload: body(2) }]);
    expect(buffer.stats()).toMatchObject({ records: 1, quarantined: 1 });
    buffer.close();
    expect(readVersion(path)).toBe(SCHEMA_VERSION);
    expect(layout(path)).toEqual(UNVERSIONED_LAYOUT);
  });

  it("numbers the migrations 1, 2, 3... in order, the last one being the version written", () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    expect(SCHEMA_VERSION).toBe(MIGRATIONS.length);
  });

  it("gives a fresh file the latest version", () => {
    const path = freshPath();
    new SqliteBuffer({ path, maxBytes: 1e9, maxAgeS: 1e6 }).close();
    expect(SCHEMA_VERSION).toBeGreaterThanOrEqual(1);
    expect(readVersion(path)).toBe(SCHEMA_VERSION);
    // version 1 is the unversioned layout; later versions start from it
    if (SCHEMA_VERSION === 1) expect(layout(path)).toEqual(UNVERSIONED_LAYOUT);
  });

  it("refuses a file from a newer release (user_version 99) with an error naming the file and both versions, and leaves it byte-identical", () => {
    const path = freshPath();
    const newer = new SqliteBuffer({ path, maxBytes: 1e9, maxAgeS: 1e6 });
    newer.append([{ kind: "tele", device: "d", body: body(1) }]);
    newer.close();
    // what a later release might have done to it
    const db = new Database(path);
    db.exec("ALTER TABLE records ADD COLUMN site TEXT; CREATE TABLE leases (id INTEGER PRIMARY KEY)");
    db.pragma("user_version = 99");
    db.close();
    const bytes = readFileSync(path);
    const listing = readdirSync(dir).sort();

    let thrown: unknown;
    try {
      new SqliteBuffer({ path, maxBytes: 1e9, maxAgeS: 1e6 }).close();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(BufferFileError);
    const message = (thrown as Error).message;
    expect(message).toContain(path);
    expect(message).toMatch(/schema version 99\b/);
    expect(message).toMatch(new RegExp(`supports up to version ${SCHEMA_VERSION}\\b`));
    expect(readFileSync(path).equals(bytes)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(listing);
  });

  it("refuses an unversioned file holding tables no release created, and leaves it byte-identical", () => {
    const path = freshPath();
    const db = new Database(path);
    db.exec("CREATE TABLE readings (at INTEGER, value REAL); INSERT INTO readings VALUES (1, 2.5)");
    db.close();
    const bytes = readFileSync(path);
    expect(() => new SqliteBuffer({ path, maxBytes: 1e9, maxAgeS: 1e6 })).toThrow(/readings.*no release of this gateway created/);
    expect(readFileSync(path).equals(bytes)).toBe(true);
    expect(readVersion(path)).toBe(0);
  });
});
