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
  ];
  for (const [key, column] of fields) {
    const value = optional(row[column]);
    if (value !== undefined) (record as unknown as Record<string, unknown>)[key] = value;
  }
  return record;
}

const REPORT_COLUMNS = ["gateway", "online", "fw", "slot", "boot", "seq", "cfg_version", "last_error", "rssi_dbm", "mem_free", "ota_state", "ota_target", "ota_error", "last_seen_ms"];

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
          r.rssiDbm ?? null, r.memFree ?? null, r.otaState ?? null, r.otaTarget ?? null, r.otaError ?? null, r.seenMs,
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
