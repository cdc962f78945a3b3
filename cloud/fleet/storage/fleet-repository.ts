// The fleet's storage, one implementation over SqlDatabase (./sql-database.ts) for both backends:
// SQLite (embedded default) and PostgreSQL (production). test/fleet/repository-contract.ts runs
// the same suite on each.
//
// Inventory: the newest report of each device wins (by the gateway's receive time, seenMs), so a
// gateway replaying an old snapshot after an outage never rolls a device's state back.
// Desired configuration: one entry per scope (a site, a group label, a device of a site), each
// with a revision drawn from one counter, so every change anywhere gets a number above all before
// it: the config a device is sent carries cv = the highest revision among the entries that apply
// to it (./desired-config.ts), and the device applies only a cv above the one it holds.
import type { ConfigValue } from "../../../protocol/config-fields.js";
import type { SqlDatabase, SqlExecutor, SqlRow } from "./sql-database.js";
import { migrate } from "./migrations.js";
import type { RolloutState } from "../rollout/rollout-engine.js";

export interface StoredReleaseRow {
  version: string;
  board: string;
  sizeBytes: number;
  sha256: string;
  minVersion: string;
  publishedMs: number;
  publishedBy: string;
}

export interface ReleaseFiles {
  manifest: Uint8Array;
  signature: Uint8Array;
  image: Uint8Array;
}

export interface DeviceReport {
  device: string;
  /** when the gateway last heard from the device (its receive time), ms since the epoch */
  seenMs: number;
  online: boolean;
  fw?: string;
  slot?: number;
  boot?: number;
  seq?: number;
  cfgVersion?: number;
  lastError?: string;
  rssiDbm?: number;
  memFree?: number;
  otaState?: string;
  otaTarget?: string;
  otaError?: string;
  /** FIFO overruns since boot (status "ov") */
  overruns?: number;
  /** mean anomaly score (score units) of the telemetry since the previous report; absent when none carried one */
  anomalyMean?: number;
}

export interface DeviceRecord extends Partial<DeviceReport> {
  site: string;
  device: string;
  labels: string[];
  gateway?: string;
  online: boolean;
}

export type ConfigScope = { kind: "site"; site: string } | { kind: "group"; group: string } | { kind: "device"; site: string; device: string };

export type ConfigFields = Record<string, ConfigValue>;

export interface DesiredConfigEntry {
  scope: ConfigScope;
  /** the fields this scope sets ({} once unset: the entry stays, so its revision still counts) */
  fields: ConfigFields;
  revision: number;
  updatedMs: number;
  updatedBy: string;
}

function scopeKey(scope: ConfigScope): [string, string, string] {
  if (scope.kind === "site") return ["site", scope.site, scope.site];
  if (scope.kind === "group") return ["group", "", scope.group];
  return ["device", scope.site, scope.device];
}

function scopeOf(row: SqlRow): ConfigScope {
  const [kind, site, target] = [String(row.scope), String(row.site), String(row.target)];
  if (kind === "site") return { kind, site };
  if (kind === "group") return { kind, group: target };
  return { kind: "device", site, device: target };
}

const optional = <T>(value: T | null | undefined): T | undefined => (value === null ? undefined : value);

function deviceOf(row: SqlRow): DeviceRecord {
  const record: DeviceRecord = { site: String(row.site), device: String(row.device), labels: JSON.parse(String(row.labels)) as string[], online: row.online === 1 };
  const fields: [keyof DeviceRecord, string][] = [
    ["gateway", "gateway"], ["fw", "fw"], ["slot", "slot"], ["boot", "boot"], ["seq", "seq"], ["cfgVersion", "cfg_version"], ["lastError", "last_error"],
    ["rssiDbm", "rssi_dbm"], ["memFree", "mem_free"], ["otaState", "ota_state"], ["otaTarget", "ota_target"], ["otaError", "ota_error"], ["seenMs", "last_seen_ms"],
    ["overruns", "fifo_overruns"], ["anomalyMean", "anomaly_mean"],
  ];
  for (const [key, column] of fields) {
    const value = optional(row[column]);
    if (value !== undefined) (record as unknown as Record<string, unknown>)[key] = value;
  }
  return record;
}

const REPORT_COLUMNS = ["gateway", "online", "fw", "slot", "boot", "seq", "cfg_version", "last_error", "rssi_dbm", "mem_free", "ota_state", "ota_target", "ota_error", "last_seen_ms", "fifo_overruns", "anomaly_mean"];

export class FleetRepository {
  private constructor(readonly db: SqlDatabase) {}

  /** opens the repository on a database, bringing its schema up to date */
  static async open(db: SqlDatabase): Promise<FleetRepository> {
    await migrate(db);
    return new FleetRepository(db);
  }

  close(): Promise<void> {
    return this.db.close();
  }

  /** Stores a gateway's reports; returns how many changed the inventory (older ones are ignored). */
  async recordReports(site: string, gateway: string, reports: readonly DeviceReport[]): Promise<number> {
    const placeholders = ["$1", "$2", ...REPORT_COLUMNS.map((_, i) => `$${i + 3}`)].join(", ");
    const updates = REPORT_COLUMNS.map((column) => `${column} = excluded.${column}`).join(", ");
    const sql =
      `INSERT INTO devices (site, device, ${REPORT_COLUMNS.join(", ")}) VALUES (${placeholders}) ` +
      `ON CONFLICT (site, device) DO UPDATE SET ${updates} ` +
      `WHERE devices.last_seen_ms IS NULL OR devices.last_seen_ms < excluded.last_seen_ms RETURNING device`;
    return await this.db.transaction(async (tx) => {
      let changed = 0;
      for (const r of reports) {
        const rows = await tx.query(sql, [
          site, r.device, gateway, r.online ? 1 : 0, r.fw ?? null, r.slot ?? null, r.boot ?? null, r.seq ?? null, r.cfgVersion ?? null, r.lastError ?? null,
          r.rssiDbm ?? null, r.memFree ?? null, r.otaState ?? null, r.otaTarget ?? null, r.otaError ?? null, r.seenMs, r.overruns ?? null, r.anomalyMean ?? null,
        ]);
        changed += rows.length;
      }
      return changed;
    });
  }

  async listDevices(filter: { site?: string } = {}): Promise<DeviceRecord[]> {
    const rows = filter.site === undefined
      ? await this.db.query("SELECT * FROM devices ORDER BY site, device")
      : await this.db.query("SELECT * FROM devices WHERE site = $1 ORDER BY device", [filter.site]);
    return rows.map(deviceOf);
  }

  /** Sets a device's group labels (creating its inventory row if it never reported: pre-provisioning). */
  async setLabels(site: string, device: string, labels: readonly string[]): Promise<void> {
    const json = JSON.stringify([...new Set(labels)].sort());
    await this.db.query("INSERT INTO devices (site, device, labels) VALUES ($1, $2, $3) ON CONFLICT (site, device) DO UPDATE SET labels = excluded.labels", [site, device, json]);
  }

  /** Stores the fields a scope sets (replacing what it set before); returns the new revision. */
  async setDesiredConfig(scope: ConfigScope, fields: ConfigFields, updatedBy: string): Promise<number> {
    const [kind, site, target] = scopeKey(scope);
    return await this.db.transaction(async (tx: SqlExecutor) => {
      const [counter] = await tx.query("UPDATE counters SET value = value + 1 WHERE name = 'config_revision' RETURNING value");
      const revision = Number(counter?.value);
      await tx.query(
        "INSERT INTO desired_configs (scope, site, target, fields, revision, updated_ms, updated_by) VALUES ($1, $2, $3, $4, $5, $6, $7) " +
          "ON CONFLICT (scope, site, target) DO UPDATE SET fields = excluded.fields, revision = excluded.revision, updated_ms = excluded.updated_ms, updated_by = excluded.updated_by",
        [kind, site, target, JSON.stringify(fields), revision, Date.now(), updatedBy],
      );
      return revision;
    });
  }

  /** Stores a verified release; false when that version exists already (a version is immutable). */
  async putRelease(row: StoredReleaseRow, files: ReleaseFiles): Promise<boolean> {
    const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
    const rows = await this.db.query(
      "INSERT INTO releases (version, board, size_bytes, sha256, min_version, manifest, signature, image, published_ms, published_by) " +
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (version) DO NOTHING RETURNING version",
      [row.version, row.board, row.sizeBytes, row.sha256, row.minVersion, b64(files.manifest), b64(files.signature), b64(files.image), row.publishedMs, row.publishedBy],
    );
    return rows.length === 1;
  }

  async listReleases(): Promise<StoredReleaseRow[]> {
    const rows = await this.db.query("SELECT version, board, size_bytes, sha256, min_version, published_ms, published_by FROM releases ORDER BY published_ms");
    return rows.map((r) => ({ version: String(r.version), board: String(r.board), sizeBytes: Number(r.size_bytes), sha256: String(r.sha256), minVersion: String(r.min_version), publishedMs: Number(r.published_ms), publishedBy: String(r.published_by) }));
  }

  /** one file of a release ("manifest", "signature", "image"), or undefined */
  async releaseFile(version: string, file: keyof ReleaseFiles): Promise<Uint8Array | undefined> {
    const [row] = await this.db.query(`SELECT ${file} AS bytes FROM releases WHERE version = $1`, [version]);
    return row ? new Uint8Array(Buffer.from(String(row.bytes), "base64")) : undefined;
  }

  /** Writes a rollout's state (insert or replace). */
  async saveRollout(state: RolloutState, nowMs = Date.now()): Promise<void> {
    await this.db.query(
      "INSERT INTO rollouts (id, release, status, state, created_ms, updated_ms) VALUES ($1, $2, $3, $4, $5, $5) " +
        "ON CONFLICT (id) DO UPDATE SET status = excluded.status, state = excluded.state, updated_ms = excluded.updated_ms",
      [state.plan.id, state.plan.release, state.status, JSON.stringify(state), nowMs],
    );
  }

  async listRollouts(filter: { active?: boolean } = {}): Promise<RolloutState[]> {
    const rows = filter.active
      ? await this.db.query("SELECT state FROM rollouts WHERE status IN ('running', 'paused', 'halted') ORDER BY created_ms")
      : await this.db.query("SELECT state FROM rollouts ORDER BY created_ms");
    return rows.map((r) => JSON.parse(String(r.state)) as RolloutState);
  }

  async getRollout(id: string): Promise<RolloutState | undefined> {
    const [row] = await this.db.query("SELECT state FROM rollouts WHERE id = $1", [id]);
    return row ? (JSON.parse(String(row.state)) as RolloutState) : undefined;
  }

  /** The entries that can apply to devices of `site` (its site and device entries, and every group's); all without a site. */
  async listDesiredConfigs(filter: { site?: string } = {}): Promise<DesiredConfigEntry[]> {
    const rows = filter.site === undefined
      ? await this.db.query("SELECT * FROM desired_configs ORDER BY revision")
      : await this.db.query("SELECT * FROM desired_configs WHERE site = $1 OR scope = 'group' ORDER BY revision", [filter.site]);
    return rows.map((row) => ({
      scope: scopeOf(row),
      fields: JSON.parse(String(row.fields)) as ConfigFields,
      revision: Number(row.revision),
      updatedMs: Number(row.updated_ms),
      updatedBy: String(row.updated_by),
    }));
  }
}
