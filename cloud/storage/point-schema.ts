// The InfluxDB schema of vibewatch, in one place: which measurement, tags and fields each batch
// record becomes. cloud/README.md documents it; keep the two in step (Grafana and the e2e audit
// read it). Both the line-protocol writer and the embedded store emit fields through this code.
//
// Tags are site, gateway and device ONLY: ids, boot ids and sequence numbers are fields, never tags
// (series cardinality). The point time is the record's ts (µs, fixed by the gateway when it first
// persisted the record), so a retried write lands on the same point and overwrites it.
import type { BatchRecord, GatewayEvent, GatewayStatus } from "../../protocol/batch.js";
import type { Alert, Status, Telemetry, Will } from "../../protocol/messages.js";
import type { Reading } from "../../protocol/readings.js";
import { CENTI } from "../../protocol/limits.js";
import { ZONE_LETTERS } from "../../protocol/messages.js";

export type Measurement = "vw_tele" | "vw_alert" | "vw_status" | "vw_gateway" | "vw_event";

/** The measurement of each vibewatch record kind; a reading ("read") names its own (pointMeasurement). */
export const measurementOf: Record<Exclude<BatchRecord["k"], "read">, Measurement> = {
  tele: "vw_tele",
  alert: "vw_alert",
  status: "vw_status",
  gw: "vw_gateway",
  event: "vw_event",
};

/** A validated batch record with the batch's site and gateway: what a Writer stores. */
export interface StoredRecord {
  record: BatchRecord;
  site: string;
  gateway: string;
}

/** Receives a record's fields; `centi` values are wire integers in hundredths (231 = 2.31). */
export interface FieldSink {
  int(key: string, value: number): void;
  centi(key: string, value: number): void;
  /** a float as it is (southbound readings) */
  float(key: string, value: number): void;
  str(key: string, value: string): void;
  bool(key: string, value: boolean): void;
}

function teleFields(p: Telemetry, out: FieldSink): void {
  out.int("seq", p.s);
  out.int("boot", p.b);
  out.int("dev_ts", p.t);
  out.int("window", p.w);
  out.int("rate", p.r);
  out.centi("arms_x", p.a[0]);
  out.centi("arms_y", p.a[1]);
  out.centi("arms_z", p.a[2]);
  out.centi("vrms_x", p.u[0]);
  out.centi("vrms_y", p.u[1]);
  out.centi("vrms_z", p.u[2]);
  out.centi("vrms_max", Math.max(p.u[0], p.u[1], p.u[2]));
  out.int("band_lo", p.f[0]);
  out.int("band_hi", p.f[1]);
  out.centi("peak", p.p);
  out.centi("crest", p.c);
  out.centi("kurtosis", p.k);
  for (let index = 0; index < p.e.length; index += 1) out.centi(BAND_KEYS[index] ?? `e${index}`, p.e[index] as number);
  out.int("zone", p.z);
  out.str("zone_letter", ZONE_LETTERS[p.z]);
  // absent while the device is still learning its baseline
  if (p.n !== null) out.centi("anomaly", p.n);
}
const BAND_KEYS = Array.from({ length: 16 }, (_, index) => `e${index}`);

function alertFields(p: Alert, out: FieldSink): void {
  out.int("seq", p.s);
  out.int("boot", p.b);
  out.int("dev_ts", p.t);
  out.str("kind", p.k);
  out.int("level", p.l);
  // x and y travel in centi-units of the kind's quantity (vrms and zone: mm/s; anomaly: score;
  // sensor: m/s²): stored as the quantity itself, a float for every kind (InfluxDB keeps one type
  // per field). "threshold", not "limit": LIMIT is reserved in InfluxQL (`SELECT value, limit` does
  // not parse). Firmware before 0.2.0 sent zone indices for zone alerts (cloud/README.md).
  out.centi("value", p.x);
  out.centi("threshold", p.y);
  out.int("zone", p.z);
  if (p.m !== undefined) out.str("message", p.m);
}

function statusFields(p: Status | Will, out: FieldSink): void {
  if (!("s" in p)) {
    // the Last Will: no sequence number, no clock, just "offline"
    out.int("boot", p.b);
    out.bool("online", false);
    return;
  }
  out.int("seq", p.s);
  out.int("boot", p.b);
  out.int("dev_ts", p.t);
  out.bool("online", p.o);
  out.str("fw", p.fw);
  out.int("uptime_s", p.up);
  out.int("mem_free", p.mem);
  out.int("rssi_dbm", p.rs);
  out.int("ring_depth", p.q);
  out.int("dropped", p.x);
  out.int("fifo_overruns", p.ov);
  out.str("part", p.sp);
  out.int("rate", p.r);
  out.int("baseline", p.bl);
  out.int("cfg_version", p.cv);
  if (p.er !== undefined) out.str("error", p.er);
  // OTA (issue 15): absent on builds without A/B slots, so written only when present
  if (p.sl !== undefined) out.int("slot", p.sl);
  if (p.os !== undefined) out.str("ota_state", p.os);
  if (p.ot !== undefined) out.str("ota_target", p.ot);
  if (p.op !== undefined) out.int("ota_bytes", p.op);
  if (p.oe !== undefined) out.str("ota_error", p.oe);
}

function gatewayFields(p: GatewayStatus, out: FieldSink): void {
  out.int("buffer_records", p.q);
  out.int("buffer_bytes", p.qb);
  out.int("oldest_age_s", p.age);
  out.int("uptime_s", p.up);
  out.int("dropped", p.x);
  out.int("devices_online", p.on);
}

function eventFields(p: GatewayEvent, out: FieldSink): void {
  out.str("event", p.e);
  out.int("n", p.n);
  if (p.m !== undefined) out.str("message", p.m);
}

// A southbound reading (protocol/readings.ts): its measurement and fields as configured at the
// gateway, plus seq, boot and gaps for the loss audit; tags site, gateway, source and its own.
// Its point time is the reading's time (t), not the storage time: the poll, the OPC UA source
// timestamp or the JSON's time, which the source keeps strictly increasing.
function readingFields(p: Reading, out: FieldSink): void {
  for (const [key, value] of Object.entries(p.f ?? {})) out.float(key, value);
  for (const [key, value] of Object.entries(p.i ?? {})) out.int(key, value);
  for (const [key, value] of Object.entries(p.o ?? {})) out.bool(key, value);
  out.int("seq", p.s);
  out.int("boot", p.b);
  out.int("gaps", p.x);
}

/** The measurement a record is stored in. */
export function pointMeasurement(record: BatchRecord): string {
  return record.k === "read" ? (record.p as Reading).m : measurementOf[record.k];
}

/** The point time of a record, µs: the storage time, or a reading's own time. */
export function pointTimeUs(record: BatchRecord): number {
  return record.k === "read" ? (record.p as Reading).t : record.ts;
}

/** A reading's tags besides site and gateway: source, then its own, sorted by key. */
export function readingTags(record: BatchRecord): Array<[string, string]> {
  const own = Object.entries((record.p as Reading).g ?? {});
  return [["source", record.d] as [string, string], ...own].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** What identifies the storage point of a record within one batch (site and gateway are the batch's). */
export function pointKeyOf(record: BatchRecord): string {
  if (record.k !== "read") return `${measurementOf[record.k]}\u0000${record.d}\u0000${record.ts}`;
  return `${pointMeasurement(record)}\u0000${readingTags(record).map(([key, value]) => `${key}=${value}`).join(",")}\u0000${pointTimeUs(record)}`;
}

/** Emits the fields of one validated record, then its record id as field "rid". */
export function emitFields(record: BatchRecord, out: FieldSink): void {
  switch (record.k) {
    case "tele":
      teleFields(record.p as Telemetry, out);
      break;
    case "alert":
      alertFields(record.p as Alert, out);
      break;
    case "status":
      statusFields(record.p as Status | Will, out);
      break;
    case "gw":
      gatewayFields(record.p as GatewayStatus, out);
      break;
    case "event":
      eventFields(record.p as GatewayEvent, out);
      break;
    case "read":
      readingFields(record.p as Reading, out);
      break;
  }
  out.int("rid", record.id);
}

/** A point with plain field values (physical floats), for stores that keep JSON. */
export interface Point {
  measurement: Measurement | string;
  /** device: the device id, or for a reading its source name followed by its own tags (",key=value", sorted) */
  tags: { site: string; gateway: string; device: string };
  fields: Record<string, number | string | boolean>;
  /** µs since epoch */
  timeUs: number;
}

export function recordToPoint({ record, site, gateway }: StoredRecord): Point {
  const fields: Record<string, number | string | boolean> = {};
  emitFields(record, {
    int: (key, value) => (fields[key] = value),
    centi: (key, value) => (fields[key] = value / CENTI),
    float: (key, value) => (fields[key] = value),
    str: (key, value) => (fields[key] = value),
    bool: (key, value) => (fields[key] = value),
  });
  const device = record.k === "read" ? [record.d, ...Object.entries((record.p as Reading).g ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, value]) => `${key}=${value}`)].join(",") : record.d;
  return { measurement: pointMeasurement(record), tags: { site, gateway, device }, fields, timeUs: pointTimeUs(record) };
}
