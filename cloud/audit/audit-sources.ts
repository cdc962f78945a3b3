// Where the audit reads (device, boot, seq): InfluxDB 1.x through /query (InfluxQL, which 2.x
// answers through DBRP mapping and 3.x natively), or the embedded SQLite store.
import Database from "better-sqlite3";
import type { DropReport, SequenceRow } from "./sequence-audit.js";

export interface AuditRows {
  rows: SequenceRow[];
  drops: DropReport[];
}

/** Measurements whose points carry a device sequence number. */
export const SEQUENCED_MEASUREMENTS = ["vw_tele", "vw_alert", "vw_status"] as const;

interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

export interface InfluxAuditSource {
  url: string;
  database: string;
  username?: string;
  password?: string;
  /** only points stored since then (µs); default all */
  sinceUs?: number;
}

export async function readInfluxRows(source: InfluxAuditSource): Promise<AuditRows> {
  const where = source.sinceUs ? ` WHERE time >= ${Math.floor(source.sinceUs)}u` : "";
  const series = await influxQuery(source, `SELECT seq, boot, dropped FROM ${SEQUENCED_MEASUREMENTS.join(", ")}${where} GROUP BY device`);
  const rows: SequenceRow[] = [];
  const drops: DropReport[] = [];
  for (const s of series) {
    const device = s.tags?.device ?? "";
    const col = (name: string) => s.columns.indexOf(name);
    const [iTime, iSeq, iBoot, iDropped] = [col("time"), col("seq"), col("boot"), col("dropped")];
    for (const value of s.values) {
      const seq = value[iSeq];
      const boot = value[iBoot];
      if (typeof seq !== "number" || typeof boot !== "number") continue; // the Last Will has no seq
      rows.push({ device, boot, seq, timeUs: Number(value[iTime]) });
      const dropped = iDropped >= 0 ? value[iDropped] : null;
      if (s.name === "vw_status" && typeof dropped === "number") drops.push({ device, boot, dropped });
    }
  }
  return { rows, drops };
}

async function influxQuery(source: InfluxAuditSource, q: string): Promise<InfluxSeries[]> {
  const params = new URLSearchParams({ q, db: source.database, epoch: "u" });
  const headers: Record<string, string> = {};
  if (source.username) headers.Authorization = `Basic ${Buffer.from(`${source.username}:${source.password ?? ""}`).toString("base64")}`;
  const response = await fetch(`${source.url.replace(/\/$/, "")}/query`, { method: "POST", body: params, headers, signal: AbortSignal.timeout(60_000) });
  const body = (await response.json()) as { results?: { series?: InfluxSeries[]; error?: string }[]; error?: string };
  if (!response.ok || body.error) throw new Error(`InfluxDB query failed (${response.status}): ${body.error ?? ""}`);
  const first = body.results?.[0];
  if (first?.error) throw new Error(`InfluxDB query failed: ${first.error}`);
  return first?.series ?? [];
}

export function readEmbeddedRows(path: string, sinceUs = 0): AuditRows {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const points = db
      .prepare(
        `SELECT measurement, device, time_us AS timeUs,
                json_extract(fields, '$.seq') AS seq, json_extract(fields, '$.boot') AS boot,
                json_extract(fields, '$.dropped') AS dropped
           FROM points
          WHERE measurement IN (${SEQUENCED_MEASUREMENTS.map(() => "?").join(", ")}) AND time_us >= ?`,
      )
      .all(...SEQUENCED_MEASUREMENTS, sinceUs) as { measurement: string; device: string; timeUs: number; seq: number | null; boot: number | null; dropped: number | null }[];
    const rows: SequenceRow[] = [];
    const drops: DropReport[] = [];
    for (const p of points) {
      if (p.seq === null || p.boot === null) continue;
      rows.push({ device: p.device, boot: p.boot, seq: p.seq, timeUs: p.timeUs });
      if (p.measurement === "vw_status" && p.dropped !== null) drops.push({ device: p.device, boot: p.boot, dropped: p.dropped });
    }
    return { rows, drops };
  } finally {
    db.close();
  }
}
