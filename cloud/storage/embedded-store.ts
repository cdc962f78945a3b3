// The embedded store: SQLite (better-sqlite3) when no InfluxDB is configured, so the pipeline runs
// on a machine with nothing installed (the demo, a small single-site install). Same reply
// semantics as the InfluxDB writers: write() returns once the transaction is committed
// (WAL, synchronous=FULL: an acknowledged record survives a power cut), and a point is keyed like
// an InfluxDB point (measurement + tags + time): writing it again merges its fields
// (json_patch, InfluxDB's union of fields), so a retried batch overwrites itself.
// Where it stops: no InfluxQL, no Grafana datasource, no retention, one process (see README).
import Database from "better-sqlite3";
import { recordToPoint, type StoredRecord } from "./point-schema.js";
import { StorageUnavailableError, type Writer, type WriteResult } from "./writer.js";

export interface EmbeddedStoreOptions {
  /** SQLite file; ":memory:" for tests */
  path: string;
}

export interface StoredPoint {
  measurement: string;
  site: string;
  gateway: string;
  device: string;
  timeUs: number;
  fields: Record<string, number | string | boolean>;
}

export class EmbeddedStore implements Writer {
  readonly kind = "embedded";
  readonly #db: Database.Database;
  readonly #upsert: Database.Statement;
  readonly #writeAll: (records: StoredRecord[]) => void;
  #closed = false;

  constructor(readonly options: EmbeddedStoreOptions) {
    this.#db = new Database(options.path);
    this.#db.pragma("journal_mode = WAL");
    this.#db.pragma("synchronous = FULL");
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS points (
        measurement TEXT NOT NULL,
        site TEXT NOT NULL,
        gateway TEXT NOT NULL,
        device TEXT NOT NULL,
        time_us INTEGER NOT NULL,
        fields TEXT NOT NULL,
        PRIMARY KEY (measurement, site, gateway, device, time_us)
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS points_by_device_time ON points (device, time_us);
    `);
    this.#upsert = this.#db.prepare(`
      INSERT INTO points (measurement, site, gateway, device, time_us, fields) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (measurement, site, gateway, device, time_us) DO UPDATE SET fields = json_patch(points.fields, excluded.fields)
    `);
    this.#writeAll = this.#db.transaction((records: StoredRecord[]) => {
      for (const stored of records) this.#upsert.run(...row(stored));
    });
  }

  async write(records: StoredRecord[]): Promise<WriteResult> {
    if (this.#closed) throw new StorageUnavailableError("closed", "embedded store is closed");
    try {
      this.#writeAll(records);
    } catch (error) {
      // disk full, I/O error, locked: the transaction rolled back, nothing is stored
      throw new StorageUnavailableError("down", `embedded store: ${(error as Error).message}`);
    }
    return { rejected: [] };
  }

  async ping(): Promise<boolean> {
    if (this.#closed) return false;
    try {
      this.#db.prepare("SELECT 1").get();
      return true;
    } catch {
      return false;
    }
  }

  /** Reads points back (tests, `vibewatch` tooling): one measurement, optionally one device, by time. */
  readPoints(measurement: string, device?: string): StoredPoint[] {
    const rows = (device === undefined
      ? this.#db.prepare("SELECT * FROM points WHERE measurement = ? ORDER BY time_us").all(measurement)
      : this.#db.prepare("SELECT * FROM points WHERE measurement = ? AND device = ? ORDER BY time_us").all(measurement, device)) as {
      measurement: string;
      site: string;
      gateway: string;
      device: string;
      time_us: number;
      fields: string;
    }[];
    return rows.map((r) => ({ measurement: r.measurement, site: r.site, gateway: r.gateway, device: r.device, timeUs: r.time_us, fields: JSON.parse(r.fields) as StoredPoint["fields"] }));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }
}

function row(stored: StoredRecord): [string, string, string, string, number, string] {
  const point = recordToPoint(stored);
  return [point.measurement, point.tags.site, point.tags.gateway, point.tags.device, point.timeUs, JSON.stringify(point.fields)];
}
