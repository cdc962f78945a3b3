// Simulated Moddable "preference" (XS side). The values live on the host (simulator/preference-store.ts)
// so they survive a simulated reboot: the host hands the same store to the next worker of the device.
// Enforces the ESP32 NVS limits the firmware must respect: domain and key <= 15 characters,
// values <= 4000 bytes. Flash failures the host injects (PreferenceStore failWrites / failReads)
// throw the Error the SDK's ESP32 implementation throws (modules/files/preference/esp32/
// modPreference.c: "nvs set fail", "nvs get fail", "nvs erase fail"). Runs under XS only.
import { hostCall } from "../host-bridge.js";

type Value = string | boolean | number | ArrayBuffer;
type Wire = { t: "s"; v: string } | { t: "b"; v: boolean } | { t: "n"; v: number } | { t: "a"; v: number[] };
/** the host's answer when flash refused the call: the device's error text */
type Refusal = { fail: string };

const MAX_NAME = 15;
const MAX_VALUE_BYTES = 4000;

function checkName(what: string, name: string): void {
  if (typeof name !== "string" || name.length === 0 || name.length > MAX_NAME) throw new Error(`preference: ${what} "${name}" must be 1..${MAX_NAME} characters`);
}

function toWire(value: Value): Wire {
  if (value instanceof ArrayBuffer) {
    if (value.byteLength > MAX_VALUE_BYTES) throw new Error(`preference: value of ${value.byteLength} bytes exceeds ${MAX_VALUE_BYTES}`);
    return { t: "a", v: Array.from(new Uint8Array(value)) };
  }
  if (typeof value === "string") {
    if (value.length > MAX_VALUE_BYTES) throw new Error(`preference: string longer than ${MAX_VALUE_BYTES}`);
    return { t: "s", v: value };
  }
  if (typeof value === "boolean") return { t: "b", v: value };
  if (typeof value === "number" && Number.isInteger(value)) return { t: "n", v: value };
  throw new Error("preference: value must be a boolean, an integer, a string or an ArrayBuffer");
}

function refused(reply: unknown): void {
  if (reply !== null && typeof reply === "object" && typeof (reply as Refusal).fail === "string") throw new Error((reply as Refusal).fail);
}

function fromWire(wire: Wire | null | undefined): Value | undefined {
  if (!wire) return undefined;
  if (wire.t === "a") return Uint8Array.from(wire.v).buffer as ArrayBuffer;
  return wire.v;
}

const Preference = {
  set(domain: string, key: string, value: Value): void {
    checkName("domain", domain);
    checkName("key", key);
    refused(hostCall<Refusal | undefined>("pref.set", { domain, key, value: toWire(value) }));
  },
  get(domain: string, key: string): Value | undefined {
    checkName("domain", domain);
    checkName("key", key);
    const reply = hostCall<Wire | Refusal | null>("pref.get", { domain, key });
    refused(reply);
    return fromWire(reply as Wire | null);
  },
  delete(domain: string, key: string): void {
    checkName("domain", domain);
    checkName("key", key);
    refused(hostCall<Refusal | undefined>("pref.delete", { domain, key }));
  },
  keys(domain: string): string[] {
    checkName("domain", domain);
    return hostCall<string[]>("pref.keys", { domain }) ?? [];
  },
};

export default Preference;
