// Runs inside XS: exposes the device's CBOR encoder to the conformance tests.
import { onHostCommand } from "../../firmware/sim/host-bridge.js";
import { CborEncoder, type CborValue } from "../../protocol/cbor-encoder.js";

const encoder = new CborEncoder(8192);

// JSON cannot carry undefined, -0, NaN or Infinity, and XS's decimal parsing is not always
// correctly rounded: the host tags those values, and sends other non-integers as float64 bytes.
function revive(value: unknown): CborValue {
  if (Array.isArray(value)) return value.map(revive);
  if (value !== null && typeof value === "object") {
    const tagged = value as { $?: string; bytes?: number[] };
    if (tagged.$ === "undefined") return undefined;
    if (tagged.$ === "-0") return -0;
    if (tagged.$ === "NaN") return NaN;
    if (tagged.$ === "Infinity") return Infinity;
    if (tagged.$ === "-Infinity") return -Infinity;
    if (tagged.$ === "bytes") return new Uint8Array(tagged.bytes ?? []);
    if (tagged.$ === "f64") return new DataView(new Uint8Array(tagged.bytes ?? []).buffer).getFloat64(0);
    const out: Record<string, CborValue> = {};
    for (const key of Object.keys(value)) out[key] = revive((value as Record<string, unknown>)[key]);
    return out;
  }
  return value as CborValue;
}

onHostCommand("encode", (message) => {
  const values = message.values as unknown[];
  return values.map((value) => Array.from(encoder.reset().value(revive(value)).bytes()));
});

onHostCommand("encodeFloat", (message) => {
  const values = message.values as unknown[];
  return values.map((value) => Array.from(encoder.reset().float(revive(value) as number).bytes()));
});
