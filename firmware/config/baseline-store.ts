// Persists the learned anomaly baseline (firmware/dsp/welford-baseline.ts) in Moddable "preference"
// (domain "vw", key "bl"), so a reboot does not restart a learning period of many windows.
// Stored as CBOR {m: mean[], s: sd[], n}; written once when learning completes, and only when the
// bytes differ from what is stored (flash wear). A damaged record is ignored and counted.
// Preference throws when NVS fails on the ESP32, and save() runs in the sampler's timer callback,
// where an uncaught exception reboots the device: every call is caught. A baseline flash refuses
// is kept to try again (retrySave) and reported (flashError) until a write succeeds; a read that
// fails means learning again, counted.
import { CborEncoder } from "../../protocol/cbor-encoder.js";
import { decodeCborValue } from "../../protocol/cbor-decoder.js";
import type { Baseline } from "../dsp/analyzer.js";
import { flashCause, PREFERENCE_DOMAIN, writeIfChanged, type PreferenceStore } from "./device-config.js";

export const PREFERENCE_BASELINE_KEY = "bl";
const MAX_FEATURES = 16;
/** NVS value limit on ESP32 */
const MAX_VALUE_BYTES = 4000;

export class BaselineKeeper {
  readonly #preferences: PreferenceStore;
  /** the encoded baseline flash refused, to try again */
  #unsaved: Uint8Array | undefined;
  #flashError: string | undefined;
  /**
   * counters since boot. persistFailures: Preference calls that threw while saving; loadFailures:
   * the read threw (the device learns again).
   */
  readonly counters = { writes: 0, storedInvalid: 0, persistFailures: 0, loadFailures: 0 };

  constructor(preferences: PreferenceStore) {
    this.#preferences = preferences;
  }

  /** what flash (NVS) refused, until a baseline write succeeds: "baseline not saved: nvs set fail" */
  get flashError(): string | undefined {
    return this.#flashError;
  }

  /** Never throws: a baseline flash refuses is kept for retrySave(). */
  save(baseline: Baseline): void {
    const count = Math.min(baseline.mean.length, baseline.sd.length, MAX_FEATURES);
    const encoder = new CborEncoder(MAX_VALUE_BYTES);
    encoder.map(3).text("m").array(count);
    for (let i = 0; i < count; i++) encoder.float(Math.fround(baseline.mean[i]!));
    encoder.text("s").array(count);
    for (let i = 0; i < count; i++) encoder.float(Math.fround(baseline.sd[i]!));
    encoder.text("n").int(Math.max(0, Math.floor(baseline.n)));
    this.#persist(encoder.bytes().slice());
  }

  /** Tries again to save a baseline an earlier write failed to (the app calls it on its heartbeat). */
  retrySave(): void {
    if (this.#unsaved) this.#persist(this.#unsaved);
  }

  #persist(bytes: Uint8Array): void {
    try {
      if (writeIfChanged(this.#preferences, PREFERENCE_BASELINE_KEY, bytes)) this.counters.writes++;
      this.#unsaved = undefined;
      this.#flashError = undefined;
    } catch (error) {
      this.counters.persistFailures++;
      this.#unsaved = bytes;
      this.#flashError = `baseline not saved: ${flashCause(error)}`;
    }
  }

  /** The stored baseline, or undefined (none, damaged or unreadable: the device learns again). Never throws. */
  load(): Baseline | undefined {
    let stored: ReturnType<PreferenceStore["get"]>;
    try {
      stored = this.#preferences.get(PREFERENCE_DOMAIN, PREFERENCE_BASELINE_KEY);
    } catch (error) {
      this.counters.loadFailures++;
      this.#flashError = `baseline not read: ${flashCause(error)}`;
      return undefined;
    }
    if (stored === undefined) return undefined;
    try {
      if (!(stored instanceof ArrayBuffer)) throw new Error("not bytes");
      const value = decodeCborValue(new Uint8Array(stored), { maxBytes: MAX_VALUE_BYTES, maxDepth: 2, maxItems: MAX_FEATURES, maxStringBytes: 1 }) as Record<string, unknown>;
      const mean = value.m;
      const sd = value.s;
      const n = value.n;
      if (!isNumbers(mean) || !isNumbers(sd) || mean.length !== sd.length || typeof n !== "number") throw new Error("bad shape");
      return { mean, sd, n };
    } catch {
      this.counters.storedInvalid++;
      return undefined;
    }
  }
}

function isNumbers(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((item) => typeof item === "number" && Number.isFinite(item));
}
