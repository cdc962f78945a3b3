// The device configuration's rules, once (issue 16 point 4): one declarative table of the fields of
// protocol/messages.ts DeviceConfig and the one checker that reads it. Runs under XS: the device's
// ConfigKeeper (firmware/config/device-config.ts) calls checkDeviceConfig on every received config;
// the gateway and the cloud (protocol/schema/validate.ts) call it after the TypeBox schema, whose
// ranges (protocol/schema/device-schema.ts) are read from this table too. So a config the cloud
// accepts is one the device accepts, cross-field rules included, and the reason a config is
// refused reads the same on every tier: "<key>: want <what>".
import { PAYLOAD_VERSION } from "./limits.js";
import { CONFIG_RESET_KEYS, MACHINE_CLASSES } from "./messages.js";

export const UINT32_MAX = 4294967295;
/** thresholds travel in centi-units up to 10^7 */
export const CENTI_MAX = 10_000_000;
export const MAX_BASELINE_FEATURES = 16;

export type ConfigValue = number | string | boolean | null | readonly ConfigValue[] | { readonly [key: string]: ConfigValue } | Uint8Array | undefined;

/** One field of DeviceConfig. Cross-field rules name the other field. */
export type ConfigField =
  | { kind: "int"; min: number; max: number; unit?: string; doc: string; powerOfTwo?: true; atMostWindow?: true; lessThan?: string }
  | { kind: "choice"; values: readonly (number | string)[]; unit?: string; doc: string }
  | { kind: "numbers"; min?: number; maxItems: number; doc: string; pairedWith: string; sameLengthAs?: string }
  | { kind: "literal"; value: number | true; doc: string };

/** Every field a config may carry, in the order they are checked. */
export const CONFIG_FIELDS = {
  v: { kind: "literal", value: PAYLOAD_VERSION, doc: "payload version" },
  cv: { kind: "int", min: 1, max: UINT32_MAX, doc: "config version: the device applies only versions above the one in force" },
  reset: { kind: "literal", value: true, doc: "the tombstone: back to build defaults (comes with v and cv only)" },
  r: { kind: "int", min: 100, max: 6400, unit: "Hz", doc: "sample rate (the sensor picks the nearest rate at or above)" },
  g: { kind: "choice", values: [2, 4, 8, 16], unit: "g", doc: "accelerometer range, ±g" },
  w: { kind: "int", min: 256, max: 4096, unit: "samples", powerOfTwo: true, doc: "window length, a power of two" },
  h: { kind: "int", min: 16, max: 4096, unit: "samples", atMostWindow: true, doc: "hop between windows, at most the window (this config's w, else the one in force)" },
  mc: { kind: "choice", values: MACHINE_CLASSES, doc: "ISO 10816-3 machine class" },
  tw: { kind: "int", min: 1, max: CENTI_MAX, unit: "centi-mm/s", lessThan: "ta", doc: "velocity RMS warning threshold, below ta" },
  ta: { kind: "int", min: 1, max: CENTI_MAX, unit: "centi-mm/s", doc: "velocity RMS alarm threshold" },
  tn: { kind: "int", min: 1, max: CENTI_MAX, unit: "centi", doc: "anomaly score alarm threshold" },
  hb: { kind: "int", min: 1, max: 86_400, unit: "s", doc: "status / heartbeat interval" },
  bm: { kind: "numbers", maxItems: MAX_BASELINE_FEATURES, pairedWith: "bs", doc: "baseline: per-feature mean" },
  bs: { kind: "numbers", min: 0, maxItems: MAX_BASELINE_FEATURES, pairedWith: "bm", sameLengthAs: "bm", doc: "baseline: per-feature standard deviation" },
  lw: { kind: "int", min: 0, max: 100_000, unit: "windows", doc: "learning period (0 keeps the current baseline)" },
} as const satisfies Record<string, ConfigField>;

export type ConfigKey = keyof typeof CONFIG_FIELDS;
export const CONFIG_KEYS = Object.keys(CONFIG_FIELDS) as ConfigKey[];

export type ConfigCheckResult = { ok: true } | { ok: false; key: string; error: string };

function isInteger(value: ConfigValue, min: number, max: number): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;
}

/** What a field wants, in words: the text after "want" in a refusal. */
export function fieldWants(key: ConfigKey, windowSamples?: number): string {
  const field: ConfigField = CONFIG_FIELDS[key];
  switch (field.kind) {
    case "literal":
      return field.value === true ? "true (leave it out otherwise)" : `${field.value}`;
    case "choice":
      return field.values.join(", ");
    case "numbers":
      return field.min === undefined ? `up to ${field.maxItems} finite numbers` : `up to ${field.maxItems} finite numbers >= ${field.min}`;
    case "int": {
      const max = field.atMostWindow && windowSamples !== undefined ? Math.min(field.max, windowSamples) : field.max;
      const unit = field.unit ? ` ${field.unit}` : "";
      if (field.powerOfTwo) return `a power of two ${field.min}..${max}${unit}`;
      return `an integer ${field.min}..${max}${unit}${field.atMostWindow ? " (at most the window)" : ""}`;
    }
  }
}

function checkField(key: ConfigKey, value: ConfigValue, windowSamples: number): boolean {
  const field: ConfigField = CONFIG_FIELDS[key];
  switch (field.kind) {
    case "literal":
      return value === field.value;
    case "choice":
      return (field.values as readonly ConfigValue[]).includes(value);
    case "numbers": {
      if (!Array.isArray(value) || value.length > field.maxItems) return false;
      const min = field.min ?? -Infinity;
      for (const item of value as readonly ConfigValue[]) if (typeof item !== "number" || !Number.isFinite(item) || item < min) return false;
      return true;
    }
    case "int": {
      const max = field.atMostWindow ? Math.min(field.max, windowSamples) : field.max;
      if (!isInteger(value, field.min, max)) return false;
      return !field.powerOfTwo || (value & (value - 1)) === 0;
    }
  }
}

/**
 * Checks a decoded config map against the table: unknown keys, each field's range, the tombstone
 * alone, and the cross-field rules (h <= window, tw < ta, bm with bs of the same length).
 * `windowInForce` bounds the hop when the config carries no w (the device passes the window it runs
 * with; the gateway and the cloud, who cannot know it, pass the largest window, CONFIG_FIELDS.w.max).
 * The first failing key in table order is reported.
 */
export function checkDeviceConfig(value: ConfigValue, windowInForce: number): ConfigCheckResult {
  if (value === null || typeof value !== "object" || Array.isArray(value) || value instanceof Uint8Array) {
    return { ok: false, key: "", error: "config: expected a map" };
  }
  const record = value as { readonly [key: string]: ConfigValue };
  const keys = Object.keys(record);
  for (const key of keys) if (!(key in CONFIG_FIELDS)) return { ok: false, key, error: `${key}: unknown field` };
  const has = (key: ConfigKey): boolean => record[key] !== undefined;
  const bad = (key: ConfigKey, want: string = fieldWants(key)): ConfigCheckResult => ({ ok: false, key, error: `${key}: want ${want}` });
  if (!checkField("v", record.v, 0)) return bad("v");
  if (!checkField("cv", record.cv, 0)) return bad("cv");
  if (has("reset")) {
    if (!checkField("reset", record.reset, 0)) return bad("reset");
    for (const key of keys) if (!CONFIG_RESET_KEYS.includes(key)) return { ok: false, key, error: `${key}: not allowed beside reset` };
    return { ok: true };
  }
  const windowSamples = has("w") && checkField("w", record.w, 0) ? (record.w as number) : windowInForce;
  // each field alone first, then the rules between fields (so "ta: want …" wins over "tw: want less than ta")
  for (const key of CONFIG_KEYS) {
    if (key === "v" || key === "cv" || key === "reset" || !has(key)) continue;
    if (!checkField(key, record[key], windowSamples)) return bad(key, fieldWants(key, windowSamples));
  }
  for (const key of CONFIG_KEYS) {
    if (!has(key)) continue;
    const field: ConfigField = CONFIG_FIELDS[key];
    if (field.kind === "int" && field.lessThan !== undefined && has(field.lessThan as ConfigKey) && (record[key] as number) >= (record[field.lessThan] as number)) {
      return bad(key, `less than ${field.lessThan}`);
    }
    if (field.kind === "numbers") {
      if (!has(field.pairedWith as ConfigKey)) return bad(field.pairedWith as ConfigKey, `present together with ${key}`);
      const other = record[field.sameLengthAs ?? ""];
      if (field.sameLengthAs !== undefined && Array.isArray(other) && other.length !== (record[key] as readonly ConfigValue[]).length) {
        return bad(key, `as many values as ${field.sameLengthAs}`);
      }
    }
  }
  return { ok: true };
}
