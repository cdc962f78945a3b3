// The fleet schema, as versioned migrations: one list, applied in order, each once, in one
// transaction with its version row, on SQLite and PostgreSQL alike (portable SQL only). A database
// newer than this code (a rollback of the service) is refused at start rather than written with
// assumptions that no longer hold. Never edit a released migration: add the next one.
import type { SqlDatabase } from "./sql-database.js";

export interface Migration {
  version: number;
  name: string;
  statements: readonly string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "inventory and desired configuration",
    statements: [
      `CREATE TABLE devices (
        site TEXT NOT NULL,
        device TEXT NOT NULL,
        labels TEXT NOT NULL DEFAULT '[]',
        gateway TEXT,
        online INTEGER NOT NULL DEFAULT 0,
        fw TEXT,
        slot INTEGER,
        boot BIGINT,
        seq BIGINT,
        cfg_version BIGINT,
        last_error TEXT,
        rssi_dbm INTEGER,
        mem_free BIGINT,
        ota_state TEXT,
        ota_target TEXT,
        ota_error TEXT,
        last_seen_ms BIGINT,
        PRIMARY KEY (site, device)
      )`,
      // scope: "site" (target = site), "group" (site = '', target = label), "device" (target = device id)
      `CREATE TABLE desired_configs (
        scope TEXT NOT NULL,
        site TEXT NOT NULL,
        target TEXT NOT NULL,
        fields TEXT NOT NULL,
        revision BIGINT NOT NULL,
        updated_ms BIGINT NOT NULL,
        updated_by TEXT NOT NULL,
        PRIMARY KEY (scope, site, target)
      )`,
      `CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL)`,
      `INSERT INTO counters (name, value) VALUES ('config_revision', 0)`,
    ],
  },
  {
    version: 2,
    name: "releases and rollouts",
    statements: [
      // the three files of a signed release (gateway/ota/release-files.ts), base64: one portable
      // column type on both databases; images are a few MB at most (ota.maxImageBytes)
      `CREATE TABLE releases (
        version TEXT PRIMARY KEY,
        board TEXT NOT NULL,
        size_bytes BIGINT NOT NULL,
        sha256 TEXT NOT NULL,
        min_version TEXT NOT NULL,
        manifest TEXT NOT NULL,
        signature TEXT NOT NULL,
        image TEXT NOT NULL,
        published_ms BIGINT NOT NULL,
        published_by TEXT NOT NULL
      )`,
      // health signals the rollout gate compares between cohorts: FIFO overruns since boot (status
      // "ov") and the mean anomaly score of the telemetry since the gateway's previous sync
      `ALTER TABLE devices ADD COLUMN fifo_overruns BIGINT`,
      `ALTER TABLE devices ADD COLUMN anomaly_mean REAL`,
      // a rollout's whole state (cloud/fleet/rollout/rollout-engine.ts RolloutState) as JSON,
      // rewritten after every step: a restarted service resumes from the last one
      `CREATE TABLE rollouts (
        id TEXT PRIMARY KEY,
        release TEXT NOT NULL,
        status TEXT NOT NULL,
        state TEXT NOT NULL,
        created_ms BIGINT NOT NULL,
        updated_ms BIGINT NOT NULL
      )`,
    ],
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/** Brings the database to SCHEMA_VERSION; returns the versions it applied. */
export async function migrate(db: SqlDatabase, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  await db.query("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms BIGINT NOT NULL)");
  return await db.transaction(async (tx) => {
    // two services starting at once on one PostgreSQL: the second waits here, then finds nothing to do
    if (db.dialect === "postgres") await tx.query("SELECT pg_advisory_xact_lock(7461626)");
    const rows = await tx.query("SELECT version FROM schema_migrations ORDER BY version");
    const applied = new Set(rows.map((row) => Number(row.version)));
    const newest = Math.max(0, ...applied);
    const known = Math.max(0, ...migrations.map((m) => m.version));
    if (newest > known) throw new Error(`fleet database is at schema version ${newest}, newer than this service knows (${known}): run the newer release, or restore a backup`);
    const done: number[] = [];
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      for (const statement of migration.statements) await tx.query(statement);
      await tx.query("INSERT INTO schema_migrations (version, name, applied_ms) VALUES ($1, $2, $3)", [migration.version, migration.name, Date.now()]);
      done.push(migration.version);
    }
    return done;
  });
}
