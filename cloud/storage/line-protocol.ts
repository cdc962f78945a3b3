// Batch record -> InfluxDB point -> line protocol. The schema (measurements, tags, fields, units)
// is documented in cloud/README.md; keep the two in step (the e2e audit and Grafana read it).
//
// Tags are site, gateway and device ONLY: ids, boot ids and sequence numbers are fields, never tags
// (series cardinality). The point time is the record's ts (µs, fixed by the gateway when it first
// persisted the record), so a retried write lands on the same point and overwrites it.
import type { BatchRecord, GatewayEvent, GatewayStatus } from "../../protocol/batch.js";
import type { Alert, Status, Telemetry, Will } from "../../protocol/messages.js";
import { CENTI } from "../../protocol/limits.js";
import { ZONE_LETTERS } from "../../protocol/messages.js";

/** A field value: integers are tagged so they are written with the "i" suffix. */
export type FieldValue = { int: number } | number | string | boolean;

export interface Point {
  measurement: "vw_tele" | "vw_alert" | "vw_status" | "vw_gateway" | "vw_event";
  tags: { site: string; gateway: string; device: string };
  fields: Record<string, FieldValue>;
  /** µs since epoch */
  timeUs: number;
}

/** A point and the batch record it came from, so a storage rejection names the record. */
export interface RecordPoint {
  recordId: number;
  point: Point;
}

const int = (value: number): FieldValue => ({ int: value });
const physical = (centi: number): number => centi / CENTI;

function teleFields(p: Telemetry): Record<string, FieldValue> {
  const fields: Record<string, FieldValue> = {
    seq: int(p.s),
    boot: int(p.b),
    dev_ts: int(p.t),
    window: int(p.w),
    rate: int(p.r),
    arms_x: physical(p.a[0]),
    arms_y: physical(p.a[1]),
    arms_z: physical(p.a[2]),
    vrms_x: physical(p.u[0]),
    vrms_y: physical(p.u[1]),
    vrms_z: physical(p.u[2]),
    vrms_max: physical(Math.max(p.u[0], p.u[1], p.u[2])),
    band_lo: int(p.f[0]),
    band_hi: int(p.f[1]),
    peak: physical(p.p),
    crest: physical(p.c),
    kurtosis: physical(p.k),
    zone: int(p.z),
    zone_letter: ZONE_LETTERS[p.z],
  };
  p.e.forEach((energy, index) => {
    fields[`e${index}`] = physical(energy);
  });
  // absent while the device is still learning its baseline
  if (p.n !== null) fields.anomaly = physical(p.n);
  return fields;
}

function alertFields(p: Alert): Record<string, FieldValue> {
  const fields: Record<string, FieldValue> = {
    seq: int(p.s),
    boot: int(p.b),
    dev_ts: int(p.t),
    kind: p.k,
    level: int(p.l),
    // x and y travel in centi-units of the alert's kind (mm/s, score, zone index)
    value: physical(p.x),
    limit: physical(p.y),
    zone: int(p.z),
  };
  if (p.m !== undefined) fields.message = p.m;
  return fields;
}

function statusFields(p: Status | Will): Record<string, FieldValue> {
  if (!("s" in p)) return { boot: int(p.b), online: false };
  const fields: Record<string, FieldValue> = {
    seq: int(p.s),
    boot: int(p.b),
    dev_ts: int(p.t),
    online: p.o,
    fw: p.fw,
    uptime_s: int(p.up),
    mem_free: int(p.mem),
    rssi_dbm: int(p.rs),
    ring_depth: int(p.q),
    dropped: int(p.x),
    fifo_overruns: int(p.ov),
    part: p.sp,
    rate: int(p.r),
    baseline: int(p.bl),
    cfg_version: int(p.cv),
  };
  if (p.er !== undefined) fields.error = p.er;
  return fields;
}

function gatewayFields(p: GatewayStatus): Record<string, FieldValue> {
  return {
    buffer_records: int(p.q),
    buffer_bytes: int(p.qb),
    oldest_age_s: int(p.age),
    uptime_s: int(p.up),
    dropped: int(p.x),
    devices_online: int(p.on),
  };
}

function eventFields(p: GatewayEvent): Record<string, FieldValue> {
  const fields: Record<string, FieldValue> = { event: p.e, n: int(p.n) };
  if (p.m !== undefined) fields.message = p.m;
  return fields;
}

const measurementOf = {
  tele: "vw_tele",
  alert: "vw_alert",
  status: "vw_status",
  gw: "vw_gateway",
  event: "vw_event",
} as const;

/** The point of one validated record of a batch from `gateway` at `site`. */
export function recordToPoint(record: BatchRecord, site: string, gateway: string): Point {
  let fields: Record<string, FieldValue>;
  switch (record.k) {
    case "tele":
      fields = teleFields(record.p as Telemetry);
      break;
    case "alert":
      fields = alertFields(record.p as Alert);
      break;
    case "status":
      fields = statusFields(record.p as Status | Will);
      break;
    case "gw":
      fields = gatewayFields(record.p as GatewayStatus);
      break;
    case "event":
      fields = eventFields(record.p as GatewayEvent);
      break;
  }
  fields.rid = int(record.id);
  return { measurement: measurementOf[record.k], tags: { site, gateway, device: record.d }, fields, timeUs: record.ts };
}

// Escaping rules of the line protocol: measurement , and space; tag keys/values and field keys
// , = and space; string field values " and \. Newlines cannot travel in line protocol at all.
const escapeMeasurement = (text: string): string => text.replace(/[, ]/g, (c) => `\\${c}`);
const escapeKey = (text: string): string => text.replace(/[,= ]/g, (c) => `\\${c}`);
const escapeString = (text: string): string => text.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\r?\n|\r/g, " ");

function formatField(value: FieldValue): string {
  if (typeof value === "object") return `${Math.trunc(value.int)}i`;
  if (typeof value === "string") return `"${escapeString(value)}"`;
  if (typeof value === "boolean") return value ? "true" : "false";
  // a float: InfluxDB reads a number without the "i" suffix as a float ("2" included)
  return Number.isFinite(value) ? String(value) : "0";
}

/** One line of line protocol, timestamp in µs (write with precision u / "us"). Tags sorted by key. */
export function toLine(point: Point): string {
  // tags sorted by key (device, gateway, site): InfluxDB then skips a sort per point
  const tags = `device=${escapeKey(point.tags.device)},gateway=${escapeKey(point.tags.gateway)},site=${escapeKey(point.tags.site)}`;
  const fields = Object.entries(point.fields)
    .map(([key, value]) => `${escapeKey(key)}=${formatField(value)}`)
    .join(",");
  return `${escapeMeasurement(point.measurement)},${tags} ${fields} ${Math.trunc(point.timeUs)}`;
}
