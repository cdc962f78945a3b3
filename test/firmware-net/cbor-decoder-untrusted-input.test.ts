// The device's CBOR decoder (protocol/cbor-decoder.ts) reads configs anyone on the broker can forge.
// Guards against: values cbor-x writes that the device misreads, and hostile input (deep nesting,
// huge lengths, tags, indefinite lengths, trailing bytes, bad UTF-8, prototype keys) that crashes it
// or gets through. Runs in Node and, for the same inputs, in the real XS engine.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { Encoder } from "cbor-x";
import { cborEncoder } from "../../protocol/schema/validate.js";
import { CborDecodeError, decodeCborValue, DEVICE_DECODE_LIMITS } from "../../protocol/cbor-decoder.js";
import { bundleFirmware } from "../../simulator/bundle-firmware.js";
import { startXsWorker, type XsWorker } from "../../simulator/xs-worker.js";

const bytesOf = (hex: string) => Uint8Array.from(Buffer.from(hex, "hex"));

function untag(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(untag);
  if (value !== null && typeof value === "object") {
    const tagged = value as { $?: string; bytes?: number[] };
    if (tagged.$ === "undefined") return undefined;
    if (tagged.$ === "NaN") return NaN;
    if (tagged.$ === "Infinity") return Infinity;
    if (tagged.$ === "-Infinity") return -Infinity;
    if (tagged.$ === "bytes") return Uint8Array.from(tagged.bytes ?? []);
    if (tagged.$ === "f64") return new DataView(Uint8Array.from(tagged.bytes ?? []).buffer).getFloat64(0);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, untag(v)]));
  }
  return value;
}

function normalise(value: unknown): unknown {
  if (value instanceof Uint8Array) return Uint8Array.from(value);
  if (Array.isArray(value)) return value.map(normalise);
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalise(v)]));
  return value;
}

const configLike = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", maxDepth: 3 },
    fc.maxSafeInteger(),
    fc.integer({ min: -100000, max: 100000 }),
    fc.double(),
    fc.float().map((f) => f as number),
    fc.string({ maxLength: 40 }),
    fc.boolean(),
    fc.constant(null),
    fc.uint8Array({ maxLength: 40 }),
    fc.array(tie("value"), { maxLength: 8 }),
    fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }).filter((k) => k !== "__proto__"), tie("value"), { maxKeys: 8, noNullPrototype: true }),
  ),
})).value;

// hostile inputs and the word each error must contain
const hostile: [string, string, string][] = [
  ["empty", "", "empty"],
  ["truncated uint32", "1a0000", "truncated"],
  ["truncated text", "6461", "truncated"],
  ["tag", "c11a514b67b0", "tags"],
  ["indefinite array", "9f01ff", "indefinite"],
  ["indefinite map", "bf616101ff", "indefinite"],
  ["trailing byte", "0101", "trailing"],
  ["integer beyond 2^53", "1b0020000000000000", "2^53"],
  ["huge array length", "9b00000000ffffffff", "items"],
  ["huge text length", "7a7fffffff", "exceeds"],
  ["integer map key", "a10101", "keys must be text"],
  ["duplicate key", "a2616101616102", "duplicate"],
  ["__proto__ key", "a1695f5f70726f746f5f5ff5", "__proto__"],
  ["overlong UTF-8", "62c0af", "UTF-8"],
  ["surrogate in UTF-8", "63eda080", "UTF-8"],
  ["truncated UTF-8", "62e282", "UTF-8"],
  ["nesting 6 deep", "8181818181818100", "nesting"],
  ["reserved info", "1c", "reserved"],
  ["lone break", "ff", "break"],
  ["simple value 16", "f0", "simple"],
];

describe("device CBOR decoder on untrusted input", () => {
  let xs: XsWorker;
  beforeAll(async () => {
    xs = await startXsWorker({ name: "cbor-decoder" });
    await xs.evaluate(await bundleFirmware("test/firmware-net/xs-decoder-entry.ts"));
  });
  afterAll(async () => {
    await xs?.close();
  });

  it("reads every value cbor-x writes (within the limits) the same, in Node and in XS", async () => {
    const samples = fc.sample(configLike, { numRuns: 300, seed: 42 });
    const encoded = samples.map((value) => Uint8Array.from(cborEncoder.encode(value)));
    const inLimits = encoded.filter((bytes) => {
      try {
        decodeCborValue(bytes, { ...DEVICE_DECODE_LIMITS, maxBytes: 4096, maxItems: 64, maxStringBytes: 256 });
        return bytes.length <= DEVICE_DECODE_LIMITS.maxBytes;
      } catch {
        return false;
      }
    });
    expect(inLimits.length).toBeGreaterThan(100);
    const { value: xsResults } = await xs.call<{ ok: boolean; value?: unknown; error?: string }[]>("decode", { inputs: inLimits.map((b) => Array.from(b)) });
    inLimits.forEach((bytes, i) => {
      const expected = normalise(new Encoder({ useRecords: false, mapsAsObjects: true }).decode(bytes));
      let node: unknown;
      let nodeError: string | undefined;
      try {
        node = normalise(decodeCborValue(bytes));
      } catch (error) {
        nodeError = (error as Error).message;
      }
      const xsResult = xsResults[i]!;
      if (nodeError) {
        // only the device's tighter limits may refuse what cbor-x reads
        expect(nodeError).toMatch(/exceeds|nesting/);
        expect(xsResult.ok).toBe(false);
      } else {
        expect(node).toEqual(expected);
        expect(xsResult.ok).toBe(true);
        expect(normalise(untag(xsResult.value))).toEqual(expected);
      }
    });
  });

  it("refuses hostile input with an error naming the problem, never a crash, in Node and in XS", async () => {
    const { value: xsResults } = await xs.call<{ ok: boolean; error?: string }[]>("decode", { inputs: hostile.map(([, hex]) => Array.from(bytesOf(hex))) });
    hostile.forEach(([name, hex, word], i) => {
      let caught: unknown;
      try {
        decodeCborValue(bytesOf(hex));
      } catch (error) {
        caught = error;
      }
      expect(caught, name).toBeInstanceOf(CborDecodeError);
      expect((caught as Error).message, name).toContain(word);
      expect(xsResults[i]!.ok, name).toBe(false);
      expect(xsResults[i]!.error, name).toContain(word);
    });
  });

  it("survives random bytes: a value or a CborDecodeError, nothing else", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          decodeCborValue(bytes);
        } catch (error) {
          if (!(error instanceof CborDecodeError)) throw error;
        }
      }),
      { numRuns: 3000, seed: 7 },
    );
  });
});
