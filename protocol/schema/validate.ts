// Decoding and validation at the boundaries (gateway on receipt, cloud per record).
// Every failure is a ContractError naming the field (JSON pointer) and a catalog code.
import { Decoder, Encoder } from "cbor-x";
import type { TSchema } from "@sinclair/typebox";
import { TypeCompiler, type TypeCheck } from "@sinclair/typebox/compiler";
import { ContractError, ContractErrorCode } from "../errors.js";
import { MAX_DEVICE_MESSAGE_BYTES, PAYLOAD_VERSION } from "../limits.js";
import type { DeviceTopicKind } from "../topics.js";
import { CONFIG_FIELDS, checkDeviceConfig, type ConfigValue } from "../config-fields.js";
import type { Alert, DeviceConfig, Status, Telemetry, Will } from "../messages.js";
import type { BatchRecord, GatewayEvent, GatewayStatus, RecordKind } from "../batch.js";
import { AlertSchema, DeviceConfigSchema, StatusSchema, TelemetrySchema, WillSchema } from "./device-schema.js";
import { BatchRecordEnvelopeSchema, BatchSchema, GatewayEventSchema, GatewayStatusSchema } from "./batch-schema.js";
import { scanCbor, DEFAULT_SCAN_LIMITS, type ScanLimits } from "./cbor-scan.js";
import { ReadingSchema } from "./reading-schema.js";
import { RESERVED_MEASUREMENT_PREFIX, RESERVED_READING_FIELDS, RESERVED_READING_TAGS, type Reading } from "../readings.js";

/** Standard CBOR both ways: no cbor-x records or tags, maps decode to plain objects. */
export const cborOptions = {
  useRecords: false,
  mapsAsObjects: true,
  tagUint8Array: false,
  useTag259ForMaps: false,
  variableMapSize: true,
} as const;

// 64-bit integers (ms and µs timestamps) decode as Numbers, not BigInts: every value of the
// contract is below 2^53. cbor-x supports the option but its typings omit it.
export const cborDecoder = new Decoder({ ...cborOptions, int64AsNumber: true } as ConstructorParameters<typeof Decoder>[0]);
export const cborEncoder = new Encoder(cborOptions);

const checks = new Map<TSchema, TypeCheck<TSchema>>();
function compiled(schema: TSchema): TypeCheck<TSchema> {
  let check = checks.get(schema);
  if (!check) {
    check = TypeCompiler.Compile(schema);
    checks.set(schema, check);
  }
  return check;
}

/** Checks `value` against `schema`; throws a ContractError naming the first bad field. */
export function assertSchema<T>(schema: TSchema, value: unknown, prefix = ""): T {
  const check = compiled(schema);
  if (check.Check(value)) return value as T;
  const first = check.Errors(value).First();
  const path = `${prefix}${first?.path ?? ""}` || "/";
  const detail = first ? `${first.message}` : "does not match the schema";
  throw new ContractError(ContractErrorCode.Schema, path, `${detail}${first && first.value !== undefined ? ` (got ${preview(first.value)})` : ""}`);
}

function preview(value: unknown): string {
  let text: string;
  try {
    text = typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** Decodes untrusted CBOR to a plain value after the structural scan. */
export function decodeCbor(bytes: Uint8Array, maxBytes = MAX_DEVICE_MESSAGE_BYTES, limits: ScanLimits = DEFAULT_SCAN_LIMITS): unknown {
  if (bytes.length > maxBytes) {
    throw new ContractError(ContractErrorCode.Oversize, "", `message is ${bytes.length} bytes, limit ${maxBytes}`);
  }
  try {
    scanCbor(bytes, limits);
  } catch (error) {
    // '{' and '[' are also valid CBOR heads (long text strings / arrays): name the likely mistake
    if ((bytes[0] === 0x7b || bytes[0] === 0x5b) && looksLikeJson(bytes)) {
      throw new ContractError(ContractErrorCode.NotCbor, "", "not CBOR: the payload is JSON; devices must send CBOR");
    }
    throw error;
  }
  try {
    return cborDecoder.decode(bytes);
  } catch (error) {
    throw new ContractError(ContractErrorCode.NotCbor, "", `not CBOR: ${(error as Error).message}`);
  }
}

function looksLikeJson(bytes: Uint8Array): boolean {
  try {
    JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    return true;
  } catch {
    return false;
  }
}

function checkVersion(value: unknown, prefix = ""): asserts value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw new ContractError(ContractErrorCode.Schema, prefix || "/", "expected a map");
  }
  const version = (value as Record<string, unknown>).v;
  if (version === undefined) throw new ContractError(ContractErrorCode.Schema, `${prefix}/v`, "payload version is missing");
  if (version !== PAYLOAD_VERSION) {
    throw new ContractError(ContractErrorCode.UnknownVersion, `${prefix}/v`, `unknown payload version ${preview(version)} (this build speaks ${PAYLOAD_VERSION})`);
  }
}

export type DeviceMessage =
  | { kind: "tele"; payload: Telemetry }
  | { kind: "alert"; payload: Alert }
  | { kind: "status"; payload: Status }
  | { kind: "will"; payload: Will }
  | { kind: "cfg"; payload: DeviceConfig };

/** Validates an already-decoded device payload of the given topic kind. */
export function validateDevicePayload(kind: DeviceTopicKind | "will", value: unknown, expectedDevice?: string, prefix = ""): DeviceMessage {
  checkVersion(value, prefix);
  let message: DeviceMessage;
  switch (kind) {
    case "tele":
      message = { kind, payload: assertSchema<Telemetry>(TelemetrySchema, value, prefix) };
      break;
    case "alert":
      message = { kind, payload: assertSchema<Alert>(AlertSchema, value, prefix) };
      break;
    case "status":
    case "will":
      // the Last Will arrives on the status topic: offline and without a sequence number
      if (value.o === false && value.s === undefined) message = { kind: "will", payload: assertSchema<Will>(WillSchema, value, prefix) };
      else message = { kind: "status", payload: assertSchema<Status>(StatusSchema, value, prefix) };
      break;
    case "cfg":
      message = { kind, payload: checkConfigRules(assertSchema<DeviceConfig>(DeviceConfigSchema, value, prefix), prefix) };
      break;
  }
  if (expectedDevice !== undefined && message.kind !== "cfg" && message.payload.d !== expectedDevice) {
    throw new ContractError(ContractErrorCode.DeviceMismatch, `${prefix}/d`, `device id "${message.payload.d}" does not match the topic's "${expectedDevice}"`);
  }
  return message;
}

/**
 * The rules the schema cannot say (the tombstone alone, h <= window, tw < ta, bm with bs), from the
 * one field table the device applies (../config-fields.ts). The gateway and the cloud do not know
 * the window a device runs with: a hop is checked against this config's w, else the largest window.
 */
function checkConfigRules(config: DeviceConfig, prefix: string): DeviceConfig {
  const check = checkDeviceConfig(config as unknown as ConfigValue, CONFIG_FIELDS.w.max);
  if (!check.ok) throw new ContractError(ContractErrorCode.Schema, `${prefix}/${check.key}`, check.error.slice(check.key.length + 2));
  return config;
}

/** Decodes and validates one MQTT payload from a device topic. */
export function decodeDeviceMessage(kind: DeviceTopicKind, bytes: Uint8Array, expectedDevice?: string): DeviceMessage {
  return validateDevicePayload(kind, decodeCbor(bytes), expectedDevice);
}

export interface BatchEnvelope {
  v: number;
  gw: string;
  site: string;
  id: string;
  recs: unknown[];
}

/** Checks the batch envelope; records are checked one by one with validateRecord(). */
export function validateBatchEnvelope(value: unknown): BatchEnvelope {
  checkVersion(value);
  return assertSchema<BatchEnvelope>(BatchSchema, value);
}

const deviceKindOf: Record<RecordKind, DeviceTopicKind | null> = {
  tele: "tele",
  alert: "alert",
  status: "status",
  gw: null,
  event: null,
  read: null,
};

/** Validates one batch record and its payload; `index` names it in error paths (/recs/7/p/u/1). */
export function validateRecord(value: unknown, index: number): BatchRecord {
  const prefix = `/recs/${index}`;
  const record = assertSchema<BatchRecord>(BatchRecordEnvelopeSchema, value, prefix);
  const deviceKind = deviceKindOf[record.k];
  if (deviceKind) {
    validateDevicePayload(deviceKind, record.p, record.d, `${prefix}/p`);
  } else if (record.k === "gw") {
    checkVersion(record.p, `${prefix}/p`);
    assertSchema<GatewayStatus>(GatewayStatusSchema, record.p, `${prefix}/p`);
  } else if (record.k === "read") {
    validateReading(record.p, record.d, `${prefix}/p`);
  } else {
    checkVersion(record.p, `${prefix}/p`);
    assertSchema<GatewayEvent>(GatewayEventSchema, record.p, `${prefix}/p`);
  }
  return record;
}

/** Validates a southbound reading (schema, then the rules a schema cannot say); `expectedSource`: the record's d. */
export function validateReading(value: unknown, expectedSource?: string, prefix = ""): Reading {
  checkVersion(value, prefix);
  const reading = assertSchema<Reading>(ReadingSchema, value, prefix);
  if (expectedSource !== undefined && reading.d !== expectedSource) {
    throw new ContractError(ContractErrorCode.DeviceMismatch, `${prefix}/d`, `source "${reading.d}" does not match the record's "${expectedSource}"`);
  }
  if (reading.m.startsWith(RESERVED_MEASUREMENT_PREFIX)) {
    throw new ContractError(ContractErrorCode.Schema, `${prefix}/m`, `measurement "${reading.m}": names starting with ${RESERVED_MEASUREMENT_PREFIX} are vibewatch's own`);
  }
  const seen = new Set<string>();
  for (const key of ["f", "i", "o"] as const) {
    for (const name of Object.keys(reading[key] ?? {})) {
      if (RESERVED_READING_FIELDS.includes(name)) throw new ContractError(ContractErrorCode.Schema, `${prefix}/${key}/${name}`, `field name "${name}" is reserved (${RESERVED_READING_FIELDS.join(", ")})`);
      if (seen.has(name)) throw new ContractError(ContractErrorCode.Schema, `${prefix}/${key}/${name}`, `field "${name}" appears with two types`);
      seen.add(name);
    }
  }
  if (seen.size === 0) throw new ContractError(ContractErrorCode.Schema, `${prefix}/f`, "a reading needs at least one field");
  for (const name of Object.keys(reading.g ?? {})) {
    if (RESERVED_READING_TAGS.includes(name)) throw new ContractError(ContractErrorCode.Schema, `${prefix}/g/${name}`, `tag "${name}" is reserved (${RESERVED_READING_TAGS.join(", ")})`);
    if (seen.has(name)) throw new ContractError(ContractErrorCode.Schema, `${prefix}/g/${name}`, `"${name}" is both a tag and a field`);
  }
  return reading;
}
