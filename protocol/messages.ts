// Device message payloads: CBOR maps with one- or two-letter keys (the wire stays <= 128 bytes).
// Plain types, shared by the firmware (XS) and the Node tiers; the runtime schemas that check them
// at every boundary live in ./schema/ and are tied to these types at compile time.
//
// Fixed point: physical values travel as integers scaled by CENTI (100): "a": 981 is 9.81 m/s².
// Every message carries the envelope: v (payload version), d (device id), b (boot id, random
// uint32 per boot), s (sequence number: per boot, +1 per published message of any kind),
// t (device clock, ms since the Unix epoch; 0 until SNTP has set the clock).
import { PAYLOAD_VERSION } from "./limits.js";
import type { OtaState } from "./ota.js";

/** The version this build speaks, as a type: PAYLOAD_VERSION. */
export type PayloadVersion = typeof PAYLOAD_VERSION;

export interface Envelope {
  /** payload version, PAYLOAD_VERSION */
  v: PayloadVersion;
  /** device id (topic's device segment) */
  d: string;
  /** boot id: random uint32 drawn at boot */
  b: number;
  /** sequence number within the boot, from 0, +1 per message */
  s: number;
  /** device timestamp, ms since epoch; 0 when the clock is not set */
  t: number;
}

/** ISO 10816-3 zone A..D as 0..3 */
export type ZoneIndex = 0 | 1 | 2 | 3;
export const ZONE_LETTERS = ["A", "B", "C", "D"] as const;

/** Telemetry: features of one analysis window. Topic .../tele, QoS 1. */
export interface Telemetry extends Envelope {
  /** window length, samples */
  w: number;
  /** sample rate, Hz */
  r: number;
  /** acceleration RMS per axis [x,y,z], mean removed, centi-m/s² */
  a: [number, number, number];
  /** velocity RMS per axis [x,y,z] over band f, centi-mm/s */
  u: [number, number, number];
  /** band of the velocity RMS [lowHz, highHz] (high is below Nyquist when the rate is low) */
  f: [number, number];
  /** peak |acceleration| of the dominant axis (largest acceleration RMS), centi-m/s² */
  p: number;
  /** crest factor (peak / RMS) of the dominant axis, centi */
  c: number;
  /** kurtosis (not excess; sine 1.5, Gaussian 3) of the dominant axis, centi */
  k: number;
  /** band acceleration RMS of the dominant axis, centi-m/s²; edges in status "be" */
  e: number[];
  /** ISO 10816-3 zone from the largest axis velocity RMS */
  z: ZoneIndex;
  /** anomaly score (standardised distance to the baseline), centi; null while learning */
  n: number | null;
}

export type AlertKind = "zone" | "vrms" | "anomaly" | "sensor";
export const ALERT_KINDS: readonly AlertKind[] = ["zone", "vrms", "anomaly", "sensor"];

/** Alert: a state change of one alarm. Topic .../alert, QoS 1. */
export interface Alert extends Envelope {
  /** what raised it */
  k: AlertKind;
  /** level: 0 cleared, 1 warning, 2 alarm */
  l: 0 | 1 | 2;
  /** the value that crossed, in centi-units of the kind's quantity: mm/s (velocity RMS) for vrms and zone, the score for anomaly, m/s² for sensor */
  x: number;
  /** the limit it crossed, same unit as x (for zone: the boundary of the zone entered, mm/s) */
  y: number;
  /** zone at the time */
  z: ZoneIndex;
  /** short human text, optional */
  m?: string;
}

/** Status / heartbeat, retained. Topic .../status, QoS 1. */
export interface Status extends Envelope {
  /** online: true; the Last Will carries false */
  o: boolean;
  /** firmware version */
  fw: string;
  /** uptime, s */
  up: number;
  /** free memory, bytes */
  mem: number;
  /** Wi-Fi RSSI, dBm */
  rs: number;
  /** ring depth: messages waiting for PUBACK or for a connection */
  q: number;
  /** messages dropped from the ring since boot (oldest telemetry first) */
  x: number;
  /** FIFO overruns since boot */
  ov: number;
  /** sensor part, e.g. "lis3dh" */
  sp: string;
  /** sample rate, Hz */
  r: number;
  /** baseline state: 0 learning, 1 ready, 2 pushed from the cloud */
  bl: 0 | 1 | 2;
  /** band edges of telemetry "e", Hz (n+1 values) */
  be: number[];
  /** version of the config in force (0 = build defaults) */
  cv: number;
  /** last error: why the last config was rejected, and/or what the device could not keep in flash
   * ("cfg not saved: nvs set fail"); absent when there is none */
  er?: string;
  /** running app slot (0 or 1) where the device has A/B slots; absent on a build without OTA */
  sl?: 0 | 1;
  /** OTA state (protocol/ota.ts OtaState); absent on a build without OTA */
  os?: OtaState;
  /** the release version the OTA state is about (offered, downloading, pending, refused...) */
  ot?: string;
  /** download progress, bytes of the image written */
  op?: number;
  /** why the last update was refused, failed or rolled back (protocol/ota.ts OTA_REASONS) */
  oe?: string;
}

/** The Last Will: published by the broker when the device vanishes. No sequence: the broker sends it. */
export interface Will {
  v: PayloadVersion;
  d: string;
  b: number;
  o: false;
}

/** ISO 10816-3 machine class: group 1 (large, > 300 kW) or 2 (15..300 kW), rigid or flexible foundation. */
export type MachineClass = "1r" | "1f" | "2r" | "2f";
export const MACHINE_CLASSES: readonly MachineClass[] = ["1r", "1f", "2r", "2f"];

/** Accelerometer full-scale range, ±g. */
export type RangeG = 2 | 4 | 8 | 16;

/**
 * Remote configuration, retained, gateway/cloud -> device. Topic .../cfg. All fields but v/cv optional;
 * a field left out takes the build default (a config is complete, not a patch).
 * An empty payload is not a config: it is what a broker delivers when the retained message is
 * deleted, and the device keeps what it has. To send a device back to its build defaults, publish
 * the tombstone `configReset(cv)`: {v, cv, reset: true}, nothing else.
 */
export interface DeviceConfig {
  v: PayloadVersion;
  /** config version: the device applies only versions greater than the one it holds */
  cv: number;
  /** sample rate, Hz (the sensor picks the nearest rate it supports at or above) */
  r?: number;
  /** range, ±g: 2, 4, 8 or 16 */
  g?: RangeG;
  /** window length, samples (power of two, 256..4096) */
  w?: number;
  /** hop between windows, samples (<= w) */
  h?: number;
  /** ISO machine class */
  mc?: MachineClass;
  /** velocity RMS warning / alarm thresholds, centi-mm/s (override the ISO zone limits) */
  tw?: number;
  ta?: number;
  /** anomaly score alarm threshold, centi */
  tn?: number;
  /** status / heartbeat interval, s */
  hb?: number;
  /** anomaly baseline: per-feature mean and standard deviation (float), learned elsewhere */
  bm?: number[];
  bs?: number[];
  /** learning period, windows (0 keeps the current baseline) */
  lw?: number;
  /**
   * the tombstone: true sends the device back to its build defaults (persisted, reported as cv).
   * It comes with v and cv only; any setting beside it rejects the config.
   */
  reset?: true;
}

/** The keys a reset (tombstone) config may carry. */
export const CONFIG_RESET_KEYS: readonly string[] = ["v", "cv", "reset"];

/**
 * The "clear" config: build defaults, as version `cv`. Versioned like any config, so the device
 * takes it only when cv is above the one it holds (a stale tombstone cannot undo a newer config)
 * and the status's cv confirms it was applied.
 */
export function configReset(cv: number): DeviceConfig {
  return { v: PAYLOAD_VERSION, cv, reset: true };
}
