// Southbound readings: values the gateway reads from the rest of the plant (Modbus TCP/RTU, OPC UA,
// JSON over MQTT) travel as batch records of kind "read". Runs under XS: no Node APIs.
//
// Like a device message, every reading carries a boot id and a sequence number, here per SOURCE
// (one configured Modbus device, OPC UA server or JSON topic mapping):
// - b: the source boot id, a random uint32 drawn each time the gateway starts the source;
// - s: the reading slot, from 0 per boot. A polled source takes one slot per scheduled poll; a
//   failed or skipped poll takes its slot without a record (a gap, never a stale repeat). An
//   OPC UA subscription takes one slot per notification and, when it was down, one slot per
//   sampling interval it missed. A JSON topic takes one slot per accepted message;
// - x: gaps so far in this boot (slots taken without a record). So in the store, per (source,
//   boot), the missing sequence numbers up to x are missed polls the source counted; anything
//   missing beyond x was lost on the way (the loss audit reports both, cloud/audit/).
// A reading replayed from the quarantine (`vibewatch quarantine replay`) has boot 0 and the
// quarantine entry's id as its sequence: replaying it twice stores the same point twice, over itself.

import type { PayloadVersion } from "./messages.js";

/** A reading's fields, by type: InfluxDB keeps one type per field, so the type is explicit. */
export interface Reading {
  v: PayloadVersion;
  /** source name (the record's d) */
  d: string;
  /** source boot id; 0 for a reading replayed from the quarantine */
  b: number;
  /** reading slot within the boot (see above) */
  s: number;
  /** reading time, µs since the Unix epoch: the poll, the server's source timestamp, or the JSON's
   *  time; strictly increasing per source and boot, so two readings never share a storage point */
  t: number;
  /** gaps (slots without a record) in this boot so far */
  x: number;
  /** measurement */
  m: string;
  /** extra tags (configured, or from topic levels); site, gateway and source are added by the cloud */
  g?: Record<string, string>;
  /** float fields */
  f?: Record<string, number>;
  /** integer fields */
  i?: Record<string, number>;
  /** boolean fields (coils, discrete inputs, flags) */
  o?: Record<string, boolean>;
}

/** Boot id of readings replayed from the quarantine (a source never draws 0). */
export const REPLAY_BOOT = 0;

/** Measurement, field and tag key names: InfluxQL-friendly, no quoting needed. */
export const READING_NAME_PATTERN = /^[a-z_][a-z0-9_]{0,63}$/;
/** Measurements of vibewatch itself (vw_tele, vw_alert...): a reading cannot write into them. */
export const RESERVED_MEASUREMENT_PREFIX = "vw_";
/** Fields the cloud adds to every reading point. */
export const RESERVED_READING_FIELDS: readonly string[] = ["seq", "boot", "gaps", "rid"];
/** Tags the cloud adds to every reading point. */
export const RESERVED_READING_TAGS: readonly string[] = ["site", "gateway", "source", "device"];
/** Fields per reading, tags per reading, tag value length. */
export const MAX_READING_FIELDS = 64;
export const MAX_READING_TAGS = 8;
export const MAX_TAG_VALUE_LENGTH = 64;
/** Largest reading payload (CBOR) a gateway stores or the cloud accepts. */
export const MAX_READING_BYTES = 4096;
