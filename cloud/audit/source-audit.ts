// The loss audit of southbound readings (protocol/readings.ts), per source and source boot, like
// the device audit: each reading takes one sequence slot; a failed poll takes its slot without a
// record and is counted in the readings' "gaps" field. So, per (source, boot): missing slots up to
// the largest gaps count are missed polls the source itself counted; missing slots beyond are
// readings lost on the way (unexplained). Readings replayed from the quarantine (boot 0) are
// counted, not sequence-checked (their seq is the quarantine entry id).
// Reads InfluxDB (InfluxQL) or the embedded store; the arithmetic is sequence-audit.ts's.
import Database from "better-sqlite3";
import { auditSequences, type AuditReport, type DropReport, type SequenceRow } from "./sequence-audit.js";
import type { InfluxAuditSource } from "./audit-sources.js";
import { REPLAY_BOOT } from "../../protocol/readings.js";

export interface SourceRows {
  rows: SequenceRow[];
  /** largest gaps count per (source, boot), as DropReports (device = source) */
  gaps: DropReport[];
  /** readings replayed from the quarantine, per source */
  replayed: Map<string, number>;
}

export interface SourceAuditReport {
  /** per source boot: `droppedByDevice` is the gaps the source counted (missed polls) */
  report: AuditReport;
  replayed: Record<string, number>;
}

function collect(points: Iterable<{ source: string; boot: unknown; seq: unknown; gaps: unknown; timeUs: number }>): SourceRows {
  const out: SourceRows = { rows: [], gaps: [], replayed: new Map() };
  for (const point of points) {
    if (typeof point.seq !== "number" || typeof point.boot !== "number") continue;
    if (point.boot === REPLAY_BOOT) {
      out.replayed.set(point.source, (out.replayed.get(point.source) ?? 0) + 1);
      continue;
    }
    out.rows.push({ device: point.source, boot: point.boot, seq: point.seq, timeUs: point.timeUs });
    if (typeof point.gaps === "number") out.gaps.push({ device: point.source, boot: point.boot, dropped: point.gaps });
  }
  return out;
}

export async function readInfluxSourceRows(source: InfluxAuditSource): Promise<SourceRows> {
  const since = source.sinceUs ? ` AND time >= ${Math.floor(source.sinceUs)}u` : "";
  // every measurement: readings go where the gateway's config says; only they have a source tag
  const q = `SELECT seq, boot, gaps FROM /.*/ WHERE "source" != ''${since} GROUP BY "source"`;
  const params = new URLSearchParams({ q, db: source.database, epoch: "u" });
  const headers: Record<string, string> = {};
  if (source.username) headers.Authorization = `Basic ${Buffer.from(`${source.username}:${source.password ?? ""}`).toString("base64")}`;
  const response = await fetch(`${source.url.replace(/\/$/, "")}/query`, { method: "POST", body: params, headers, signal: AbortSignal.timeout(60_000) });
  const body = (await response.json()) as { results?: { series?: { tags?: Record<string, string>; columns: string[]; values: unknown[][] }[]; error?: string }[]; error?: string };
  if (!response.ok || body.error || body.results?.[0]?.error) throw new Error(`InfluxDB query failed (${response.status}): ${body.error ?? body.results?.[0]?.error ?? ""}`);
  const points: Array<{ source: string; boot: unknown; seq: unknown; gaps: unknown; timeUs: number }> = [];
  for (const series of body.results?.[0]?.series ?? []) {
    const col = (name: string) => series.columns.indexOf(name);
    const [iTime, iSeq, iBoot, iGaps] = [col("time"), col("seq"), col("boot"), col("gaps")];
    for (const value of series.values) points.push({ source: series.tags?.source ?? "", seq: value[iSeq], boot: value[iBoot], gaps: value[iGaps], timeUs: Number(value[iTime]) });
  }
  return collect(points);
}

/** The embedded store keeps a reading's source (then its own tags) in the device column. */
export function readEmbeddedSourceRows(path: string, sinceUs = 0): SourceRows {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const points = db
      .prepare(
        `SELECT device, time_us AS timeUs, json_extract(fields, '$.seq') AS seq, json_extract(fields, '$.boot') AS boot,
                json_extract(fields, '$.gaps') AS gaps
           FROM points WHERE measurement NOT LIKE 'vw\\_%' ESCAPE '\\' AND time_us >= ?`,
      )
      .all(sinceUs) as Array<{ device: string; timeUs: number; seq: unknown; boot: unknown; gaps: unknown }>;
    return collect(points.map((p) => ({ ...p, source: p.device.split(",")[0] ?? p.device })));
  } finally {
    db.close();
  }
}

export function auditSources(rows: SourceRows): SourceAuditReport {
  return { report: auditSequences(rows.rows, rows.gaps), replayed: Object.fromEntries(rows.replayed) };
}

/** Lines like formatAudit's, worded for sources. */
export function formatSourceAudit({ report, replayed }: SourceAuditReport): string {
  const t = report.totals;
  const lines = [
    `sources ${t.devices}, source boots ${t.boots}, readings ${t.stored}, missing ${t.missing} (gaps counted by the sources ${t.droppedByDevice}, unexplained ${t.unexplained}), duplicated ${t.duplicated}` +
      (Object.keys(replayed).length > 0 ? `, replayed from the quarantine ${Object.values(replayed).reduce((a, b) => a + b, 0)}` : ""),
  ];
  for (const boot of report.boots) {
    if (boot.missing === 0 && boot.duplicated === 0) continue;
    lines.push(`  ${boot.device} boot ${boot.boot.toString(16)}: seq ${boot.firstSeq}..${boot.lastSeq}, missing ${boot.missing}, gaps counted ${boot.droppedByDevice}, unexplained ${boot.unexplained}, duplicated ${boot.duplicated}`);
  }
  return lines.join("\n");
}
