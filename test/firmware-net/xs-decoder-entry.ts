// Runs inside XS: exposes the device's CBOR decoder to cbor-decoder-untrusted-input.test.ts.
import { onHostCommand } from "../../firmware/sim/host-bridge.js";
import { decodeCborValue, CborDecodeError } from "../../protocol/cbor-decoder.js";
import type { CborValue } from "../../protocol/cbor-encoder.js";

// JSON cannot carry undefined, NaN or byte strings: tag them for the host. Other non-integers
// travel as their float64 bytes, so XS's decimal formatting cannot blur what the decoder produced.
function tag(value: CborValue): unknown {
  if (value === undefined) return { $: "undefined" };
  if (typeof value === "number" && !Number.isFinite(value)) return { $: String(value) };
  if (typeof value === "number" && !Number.isSafeInteger(value)) {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setFloat64(0, value);
    return { $: "f64", bytes: Array.from(bytes) };
  }
  if (value instanceof Uint8Array) return { $: "bytes", bytes: Array.from(value) };
  if (Array.isArray(value)) return value.map(tag);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) out[key] = tag((value as Record<string, CborValue>)[key]);
    return out;
  }
  return value;
}

onHostCommand("decode", (message) => {
  const inputs = message.inputs as number[][];
  return inputs.map((bytes) => {
    try {
      return { ok: true, value: tag(decodeCborValue(Uint8Array.from(bytes))) };
    } catch (error) {
      return { ok: false, error: error instanceof CborDecodeError ? error.message : `unexpected ${String(error)}` };
    }
  });
});
