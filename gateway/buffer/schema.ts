// The buffer file's layout and its upgrades. The file is durable on field gateways and outlives
// releases, so its layout is versioned with SQLite's `PRAGMA user_version` (a 4-byte integer in
// the file header, written in the same transaction as the change it describes) and changed only
// by the numbered migrations below, each run once, in order, in a transaction of its own.
//
// Rules for a new migration: append it (never edit or reorder a released one: field files were
// made by it), give it the next number and a comment saying why, and keep it runnable on every
// file the previous version may hold (a crash mid-upgrade leaves the file at the previous
// version, so the next start runs the migration again from the start).
//
// Downgrade: a file whose version is newer than this code knows is refused before anything
// touches it (opened read-only to look): the older code cannot know what the newer layout means,
// and guessing could drop acknowledged records. Run the newer release again, or move the file
// aside to start with an empty buffer.
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import Database from "better-sqlite3";
import type { Database as Db } from "better-sqlite3";

interface Migration {
  /** the user_version the file has once this migration committed */
  version: number;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  // 1: the layout every buffer file had before versioning (user_version 0, up to commit b0487d0):
  // the CREATE statements that code ran at each open (sqlite-buffer.ts, seen-ranges.ts,
  // validation/quarantine-store.ts), verbatim, IF NOT EXISTS included, so a file it created
  // passes through this migration unchanged and is only stamped.
  {
    version: 1,
    sql: `
      CREATE TABLE IF NOT EXISTS records (
        id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, kind TEXT NOT NULL,
        device TEXT NOT NULL, prio INTEGER NOT NULL, bytes INTEGER NOT NULL, body BLOB NOT NULL);
      -- only alerts/events are indexed (a partial index): telemetry is read in rowid order
      CREATE INDEX IF NOT EXISTS priority_records ON records (id) WHERE prio = 1;
      -- last_id, last_ts_us: ids and timestamps never go back, even after the newest record went
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
      -- the dedupe of QoS 1 redelivery (seen-ranges.ts)
      CREATE TABLE IF NOT EXISTS seen_ranges (k TEXT PRIMARY KEY, ranges TEXT NOT NULL, at_us INTEGER NOT NULL) WITHOUT ROWID;
      -- the quarantine (quarantine-store.ts), in this file so a message is quarantined in the
      -- transaction that acknowledges it
      CREATE TABLE IF NOT EXISTS quarantine (
        id INTEGER PRIMARY KEY AUTOINCREMENT, at_us INTEGER NOT NULL, topic TEXT NOT NULL,
        device TEXT NOT NULL, code TEXT NOT NULL, reason TEXT NOT NULL, payload BLOB NOT NULL);
      CREATE TABLE IF NOT EXISTS quarantine_counts (
        device TEXT NOT NULL, code TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (device, code)) WITHOUT ROWID;`,
  },
];

/** the version this code writes and understands */
export const SCHEMA_VERSION = (MIGRATIONS[MIGRATIONS.length - 1] as Migration).version;

export class BufferFileError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = "BufferFileError";
  }
}

export interface OpenOptions {
  synchronous: "FULL" | "NORMAL";
}

/** Opens (or creates) the buffer file at `path`, upgraded to SCHEMA_VERSION. Throws a
 *  BufferFileError, leaving the file as it was, when the file is newer than this code or holds a
 *  layout no release of it wrote. */
export function openBufferFile(path: string, options: OpenOptions): Db {
  if (path !== ":memory:") {
    const version = headerVersion(path);
    if (version !== undefined) checkVersion(version, path);
  }
  const db = new Database(path);
  try {
    // still before any change: setting WAL mode alone rewrites the header of a file not in it
    checkVersion(userVersion(db), path, db);
    db.pragma("journal_mode = WAL");
    db.pragma(`synchronous = ${options.synchronous === "NORMAL" ? "NORMAL" : "FULL"}`);
    // 4 MiB page cache: appends touch only the table's rightmost pages, leases and deletions its
    // leftmost, and a backlog is read once, in order; 16 MiB filled up while draining a large
    // backlog (12 MB more RSS) without making the drain faster
    db.pragma("cache_size = -4000");
    migrate(db, path);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/** The file's user_version read without opening it for writing (undefined: no file, or not
 *  one SQLite would read as a database: the open says so). A clean file's header is the truth;
 *  with a write-ahead log left by a crash the header may be stale, so SQLite reads it, read-only
 *  (no checkpoint into the file; the log's companion files exist already). */
function headerVersion(path: string): number | undefined {
  if (!existsSync(path)) return undefined;
  if (existsSync(`${path}-wal`) && statSync(`${path}-wal`).size > 0) {
    const probe = new Database(path, { readonly: true, fileMustExist: true });
    try {
      return userVersion(probe);
    } finally {
      probe.close();
    }
  }
  const header = Buffer.alloc(100);
  const fd = openSync(path, "r");
  try {
    if (readSync(fd, header, 0, 100, 0) < 100) return undefined;
  } finally {
    closeSync(fd);
  }
  if (header.toString("latin1", 0, 16) !== "SQLite format 3\u0000") return undefined;
  return header.readUInt32BE(60); // the header's user_version field
}

/** Applies the pending migrations, one transaction each. */
function migrate(db: Db, path: string): void {
  let version = checkVersion(userVersion(db), path, db);
  for (const migration of MIGRATIONS) {
    if (migration.version <= version) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    })();
    version = migration.version;
  }
}

function userVersion(db: Db): number {
  return db.pragma("user_version", { simple: true }) as number;
}

/** `version`, when this code may open the file; throws a BufferFileError otherwise. The layout
 *  of an unversioned file is checked when `db` is given. */
function checkVersion(version: number, path: string, db?: Db): number {
  if (version > SCHEMA_VERSION) {
    throw new BufferFileError(
      path,
      `buffer file ${path} has schema version ${version}, but this gateway supports up to version ${SCHEMA_VERSION}: ` +
        "it was written by a newer release. The file was not changed; run that release again, or move the file aside to start with an empty buffer.",
    );
  }
  if (version === 0 && db) {
    // unversioned: empty, or written before versioning (migration 1's layout, maybe only part of
    // it after a crash during the very first open, since each statement committed on its own)
    const unknown = unknownObjects(db);
    if (unknown.length > 0) {
      throw new BufferFileError(
        path,
        `buffer file ${path} has no schema version and holds ${unknown.join("; ")}, which no release of this gateway created: ` +
          "it is not a buffer file, or was changed by hand. The file was not changed.",
      );
    }
  }
  return version;
}

interface SchemaObject {
  type: string;
  name: string;
  tbl_name: string;
  sql: string | null;
}

/** Schema objects as comparable strings; whitespace in the CREATE text does not matter. */
export function schemaOf(db: Db): string[] {
  const rows = db.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master").all() as SchemaObject[];
  return rows.map((row) => `${row.type} ${row.name} ON ${row.tbl_name}: ${(row.sql ?? "").replace(/\s+/g, " ").replace(/\( /g, "(").replace(/ \)/g, ")")}`).sort();
}

let version1Schema: Set<string> | undefined;

function unknownObjects(db: Db): string[] {
  if (!version1Schema) {
    const reference = new Database(":memory:");
    reference.exec((MIGRATIONS[0] as Migration).sql);
    version1Schema = new Set(schemaOf(reference));
    reference.close();
  }
  const known = version1Schema;
  return schemaOf(db).filter((object) => !known.has(object));
}
