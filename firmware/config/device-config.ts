// The device's remote configuration: build defaults, validation of a received config, persistence.
//
// A config arrives retained on .../cfg as CBOR (protocol/messages.ts DeviceConfig). It is all or
// nothing: one unknown key or one out-of-range value rejects the whole config, the one in force
// stays, and the app publishes a status whose "er" names the field. The rules, cross-field ones
// included (window a power of two, hop <= window, warning < alarm, baseline mean/sd of equal
// length), are the one table of protocol/config-fields.ts that the gateway and the cloud apply too.
// Only configs with a version (cv) above the one in force are applied; the same cv again (the broker
// re-delivers the retained config after every reconnect) is ignored without an error.
// Clearing: an empty payload is what the broker delivers when the retained message is deleted, and
// changes nothing; the tombstone {v, cv, reset: true} (protocol/messages.ts configReset) sends the
// device back to its build defaults, as version cv, and is persisted like any config.
// Persistence: the accepted config's CBOR bytes in Moddable "preference" (domain "vw", key "cfg"),
// written only when they differ from what is stored (flash wear). Preference throws on the ESP32
// when NVS fails ("nvs set fail", "nvs get fail", "nvs_open fail"), and an uncaught exception
// reboots the device: so every call is caught here. A config that cannot be written stays in force
// in RAM, is counted (persistFailures) and reported (flashError, the status's "er") until a write
// succeeds; a read that fails at boot runs on build defaults, counted (loadFailures).
import { decodeCborValue, CborDecodeError } from "../../protocol/cbor-decoder.js";
import type { CborValue } from "../../protocol/cbor-encoder.js";
import { MAX_CONFIG_MESSAGE_BYTES } from "../../protocol/limits.js";
import { checkDeviceConfig } from "../../protocol/config-fields.js";
import type { DeviceConfig, MachineClass, RangeG } from "../../protocol/messages.js";

/** The config in force: every field has a value (build defaults under the accepted config). */
export interface EffectiveConfig {
  /** 0 = build defaults */
  cv: number;
  sampleRateHz: number;
  rangeG: RangeG;
  windowSamples: number;
  hopSamples: number;
  machineClass: MachineClass;
  /** mm/s; 0 = off (ISO zones only) */
  velocityWarnMmS: number;
  velocityAlarmMmS: number;
  /** standardised distance; 0 = off */
  anomalyAlarm: number;
  heartbeatS: number;
  learningWindows: number;
  /** pushed baseline, when the config carries one */
  baseline?: { mean: number[]; sd: number[]; n: number };
}

export const BUILD_DEFAULTS: EffectiveConfig = {
  cv: 0,
  sampleRateHz: 3200,
  rangeG: 4,
  windowSamples: 2048,
  hopSamples: 2048,
  machineClass: "2r",
  velocityWarnMmS: 0,
  velocityAlarmMmS: 0,
  anomalyAlarm: 0,
  heartbeatS: 60,
  learningWindows: 100,
};

export type ConfigCheck = { ok: true; config: DeviceConfig } | { ok: false; error: string };

/**
 * Checks a decoded config against the contract's one field table (protocol/config-fields.ts, the
 * same rules the gateway and the cloud apply); `windowInForce` bounds the hop when w is absent.
 */
export function checkConfig(value: CborValue, windowInForce: number): ConfigCheck {
  const check = checkDeviceConfig(value, windowInForce);
  return check.ok ? { ok: true, config: value as unknown as DeviceConfig } : { ok: false, error: check.error };
}

/** Build defaults under an accepted config (fields it leaves out take the build default). */
export function effectiveConfig(config: DeviceConfig | undefined, defaults: EffectiveConfig = BUILD_DEFAULTS): EffectiveConfig {
  if (!config) return { ...defaults };
  if (config.reset) return { ...defaults, cv: config.cv };
  const result: EffectiveConfig = {
    cv: config.cv,
    sampleRateHz: config.r ?? defaults.sampleRateHz,
    rangeG: config.g ?? defaults.rangeG,
    windowSamples: config.w ?? defaults.windowSamples,
    hopSamples: config.h ?? Math.min(defaults.hopSamples, config.w ?? defaults.windowSamples),
    machineClass: config.mc ?? defaults.machineClass,
    velocityWarnMmS: config.tw !== undefined ? config.tw / 100 : defaults.velocityWarnMmS,
    velocityAlarmMmS: config.ta !== undefined ? config.ta / 100 : defaults.velocityAlarmMmS,
    anomalyAlarm: config.tn !== undefined ? config.tn / 100 : defaults.anomalyAlarm,
    heartbeatS: config.hb ?? defaults.heartbeatS,
    learningWindows: config.lw ?? defaults.learningWindows,
  };
  if (config.bm && config.bs) result.baseline = { mean: config.bm.slice(), sd: config.bs.slice(), n: 1 };
  return result;
}

/** Moddable "preference" as this module uses it (injected: the device's or the simulator's). */
export interface PreferenceStore {
  get(domain: string, key: string): string | boolean | number | ArrayBuffer | undefined;
  set(domain: string, key: string, value: string | boolean | number | ArrayBuffer): void;
  delete(domain: string, key: string): void;
}

export const PREFERENCE_DOMAIN = "vw";
export const PREFERENCE_CONFIG_KEY = "cfg";

export type ConfigOutcome =
  | { kind: "applied"; config: EffectiveConfig }
  | { kind: "same" }
  | { kind: "rejected"; error: string };

/** the longest text kept for the status's "er" (protocol/schema/device-schema.ts) */
const MAX_ERROR_CHARS = 96;
/** the longest part of a Preference exception kept in a flash error */
const MAX_CAUSE_CHARS = 40;

function clip(text: string, max: number): string {
  return text.length > max ? text.slice(0, max) : text;
}

/** the text of what a Preference call threw (on the ESP32 an Error: "nvs set fail", ...) */
export function flashCause(error: unknown): string {
  return clip(error instanceof Error ? error.message : String(error), MAX_CAUSE_CHARS);
}

/**
 * Writes `bytes` under `key` (domain "vw") unless flash already holds them (flash wear); a read that
 * fails counts as "not the same" (the write then says whether flash works). Returns whether it
 * wrote; throws what Preference.set throws, for the caller to keep the bytes and count it.
 */
export function writeIfChanged(preferences: PreferenceStore, key: string, bytes: Uint8Array): boolean {
  let stored: ReturnType<PreferenceStore["get"]>;
  try {
    stored = preferences.get(PREFERENCE_DOMAIN, key);
  } catch {
    stored = undefined;
  }
  if (stored instanceof ArrayBuffer && sameBytes(new Uint8Array(stored), bytes)) return false;
  preferences.set(PREFERENCE_DOMAIN, key, bytes.slice().buffer as ArrayBuffer);
  return true;
}

/** Holds the config in force; decides on each received config; persists accepted ones. */
export class ConfigKeeper {
  readonly #preferences: PreferenceStore;
  readonly #defaults: EffectiveConfig;
  #current: EffectiveConfig;
  #lastError: string | undefined;
  #previous: EffectiveConfig | undefined;
  #pendingBytes: Uint8Array | undefined;
  /** the bytes of the config in force when flash does not hold them (a write failed) */
  #unsavedBytes: Uint8Array | undefined;
  #flashError: string | undefined;
  /**
   * counters since boot. persistFailures: Preference calls that threw while saving a config (it
   * stayed in force, unsaved); loadFailures: the read at boot threw (build defaults instead).
   */
  readonly counters = { applied: 0, rejected: 0, persistWrites: 0, storedInvalid: 0, persistFailures: 0, loadFailures: 0 };

  constructor(preferences: PreferenceStore, defaults: EffectiveConfig = BUILD_DEFAULTS) {
    this.#preferences = preferences;
    this.#defaults = defaults;
    this.#current = { ...defaults };
    this.#loadPersisted();
  }

  get current(): EffectiveConfig {
    return this.#current;
  }

  /** the last rejection's reason, until a config is applied */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  /** what flash (NVS) refused, until a write succeeds: "cfg not saved: nvs set fail" */
  get flashError(): string | undefined {
    return this.#flashError;
  }

  /**
   * A config message from the broker: decode, check, decide. An "applied" outcome is in force at
   * once; the caller applies it to the hardware and then calls commit() (persist) or, when applying
   * failed, rollback() (the previous config is back in force and the error is reported).
   */
  receive(bytes: Uint8Array): ConfigOutcome {
    let outcome: ConfigOutcome;
    if (bytes.length === 0) {
      // the broker deleted the retained config: no change (a reset is the tombstone, not this)
      outcome = { kind: "same" };
    } else {
      outcome = this.#decide(bytes);
    }
    if (outcome.kind === "rejected") {
      this.counters.rejected++;
      this.#lastError = outcome.error.length > 96 ? outcome.error.slice(0, 96) : outcome.error;
    } else if (outcome.kind === "applied") {
      this.counters.applied++;
      this.#lastError = undefined;
    } else if (bytes.length > 0) {
      // the broker re-delivers the retained config after a reconnect: a chance to save it
      this.retryPersist();
    }
    return outcome;
  }

  #decide(bytes: Uint8Array): ConfigOutcome {
    let value: CborValue;
    try {
      value = decodeCborValue(bytes, { maxBytes: MAX_CONFIG_MESSAGE_BYTES, maxDepth: 2, maxItems: 32, maxStringBytes: 16 });
    } catch (error) {
      return { kind: "rejected", error: error instanceof CborDecodeError ? error.message : "config: not CBOR" };
    }
    const check = checkConfig(value, this.#current.windowSamples);
    if (!check.ok) return { kind: "rejected", error: check.error };
    if (check.config.cv === this.#current.cv) return { kind: "same" };
    if (check.config.cv < this.#current.cv) return { kind: "rejected", error: `cv: ${check.config.cv} is older than ${this.#current.cv} in force` };
    this.#previous = this.#current;
    this.#pendingBytes = bytes.slice();
    this.#current = effectiveConfig(check.config, this.#defaults);
    return { kind: "applied", config: this.#current };
  }

  /** A config that never reached receive() (e.g. too large to take): counted and reported like a rejection. */
  reportRejected(error: string): void {
    this.counters.rejected++;
    this.#lastError = clip(error, MAX_ERROR_CHARS);
  }

  /**
   * The applied config works: persist it (only when its bytes differ from the stored ones). Never
   * throws: when flash refuses, the config stays in force unsaved (see flashError, retryPersist).
   */
  commit(): void {
    if (this.#pendingBytes) this.#persist(this.#pendingBytes);
    this.#pendingBytes = undefined;
    this.#previous = undefined;
  }

  /** Tries again to save the config in force when an earlier write failed (heartbeat, re-delivery). */
  retryPersist(): void {
    if (this.#unsavedBytes && !this.#pendingBytes) this.#persist(this.#unsavedBytes);
  }

  /** Applying the config failed: the previous one is in force again, nothing is persisted. */
  rollback(error: string): EffectiveConfig {
    if (this.#previous) this.#current = this.#previous;
    this.#previous = undefined;
    this.#pendingBytes = undefined;
    this.counters.applied--;
    this.counters.rejected++;
    this.#lastError = clip(error, MAX_ERROR_CHARS);
    return this.#current;
  }

  /** The stored config could not be applied at boot: run on build defaults (the broker resends cfg). */
  fallBackToDefaults(error: string): EffectiveConfig {
    this.#current = { ...this.#defaults };
    this.counters.storedInvalid++;
    this.#lastError = clip(error, MAX_ERROR_CHARS);
    return this.#current;
  }

  #persist(bytes: Uint8Array): void {
    try {
      if (writeIfChanged(this.#preferences, PREFERENCE_CONFIG_KEY, bytes)) this.counters.persistWrites++;
      this.#unsavedBytes = undefined;
      this.#flashError = undefined;
    } catch (error) {
      // the config stays in force in RAM; on the ESP32 the old record may be gone too (its
      // Preference.set erases the key before it writes), so a reboot would start on build defaults
      this.counters.persistFailures++;
      this.#unsavedBytes = bytes;
      this.#flashError = `cfg not saved: ${flashCause(error)}`;
    }
  }

  #loadPersisted(): void {
    let stored: ReturnType<PreferenceStore["get"]>;
    try {
      stored = this.#preferences.get(PREFERENCE_DOMAIN, PREFERENCE_CONFIG_KEY);
    } catch (error) {
      // flash unreadable: build defaults; the broker's retained config follows the connection
      this.counters.loadFailures++;
      this.#flashError = `cfg not read: ${flashCause(error)}`;
      return;
    }
    if (stored === undefined) return;
    if (!(stored instanceof ArrayBuffer)) {
      this.counters.storedInvalid++;
      return;
    }
    try {
      const check = checkConfig(decodeCborValue(new Uint8Array(stored)), this.#defaults.windowSamples);
      if (check.ok) this.#current = effectiveConfig(check.config, this.#defaults);
      else this.counters.storedInvalid++;
    } catch {
      this.counters.storedInvalid++; // a damaged record: run on build defaults, the broker resends cfg
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
