// The device's CBOR encoder, run in the real XS engine: RFC 8949 Appendix A vectors of its subset,
// and every value it can produce decodes with cbor-x (the gateway's and cloud's decoder) to the same value.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { bundleFirmware } from "../../simulator/bundle-firmware.js";
import { startXsWorker, type XsWorker } from "../../simulator/xs-worker.js";
import { cborDecoder } from "../../protocol/schema/validate.js";
import { CborEncoder, CborOverflowError, encodeCbor, type CborValue } from "../../protocol/cbor-encoder.js";

const hex = (bytes: number[] | Uint8Array) => Buffer.from(Uint8Array.from(bytes)).toString("hex");

// RFC 8949 Appendix A, the examples within the encoder's subset (no tags, bignums, indefinite lengths).
const integerVectors: [number, string][] = [
  [0, "00"], [1, "01"], [10, "0a"], [23, "17"], [24, "1818"], [25, "1819"], [100, "1864"], [1000, "1903e8"],
  [1000000, "1a000f4240"], [1000000000000, "1b000000e8d4a51000"], [-1, "20"], [-10, "29"], [-100, "3863"],
  [-1000, "3903e7"],
];
const floatVectors: [number | string, string][] = [
  [0.0, "f90000"], ["-0", "f98000"], [1.0, "f93c00"], [1.1, "fb3ff199999999999a"], [1.5, "f93e00"],
  [65504.0, "f97bff"], [100000.0, "fa47c35000"], [3.4028234663852886e38, "fa7f7fffff"],
  [1.0e300, "fb7e37e43c8800759c"], [5.960464477539063e-8, "f90001"], [0.00006103515625, "f90400"],
  [-4.0, "f9c400"], [-4.1, "fbc010666666666666"], ["Infinity", "f97c00"], ["NaN", "f97e00"], ["-Infinity", "f9fc00"],
];
const otherVectors: [unknown, string][] = [
  [false, "f4"], [true, "f5"], [null, "f6"], [{ $: "undefined" }, "f7"],
  [{ $: "bytes", bytes: [] }, "40"], [{ $: "bytes", bytes: [1, 2, 3, 4] }, "4401020304"],
  ["", "60"], ["a", "6161"], ["IETF", "6449455446"], ['"\\', "62225c"], ["\u00fc", "62c3bc"], ["\u6c34", "63e6b0b4"],
  ["\ud800\udd51", "64f0908591"],
  [[], "80"], [[1, 2, 3], "83010203"], [[1, [2, 3], [4, 5]], "8301820203820405"],
  [Array.from({ length: 25 }, (_, i) => i + 1), "98190102030405060708090a0b0c0d0e0f101112131415161718181819"],
  [{}, "a0"], [{ a: 1, b: [2, 3] }, "a26161016162820203"], [["a", { b: "c" }], "826161a161626163"],
  [{ a: "A", b: "B", c: "C", d: "D", e: "E" }, "a56161614161626142616361436164614461656145"],
];

function tagForJson(value: unknown): unknown {
  if (value === undefined) return { $: "undefined" };
  if (typeof value === "number") {
    if (Object.is(value, -0)) return { $: "-0" };
    if (Number.isNaN(value)) return { $: "NaN" };
    if (value === Infinity) return { $: "Infinity" };
    if (value === -Infinity) return { $: "-Infinity" };
    // XS parses some long decimal literals one ulp off (seen: -22704519976583170 arrived as
    // -22704519976583172), so anything but a safe integer travels as its IEEE 754 bytes.
    if (!Number.isSafeInteger(value)) {
      const bytes = new Uint8Array(8);
      new DataView(bytes.buffer).setFloat64(0, value);
      return { $: "f64", bytes: Array.from(bytes) };
    }
    return value;
  }
  if (value instanceof Uint8Array) return { $: "bytes", bytes: Array.from(value) };
  if (Array.isArray(value)) return value.map(tagForJson);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, tagForJson(v)]));
  }
  return value;
}

/** cbor-x gives Buffers for byte strings; compare as plain Uint8Arrays */
function normalise(value: unknown): unknown {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (Array.isArray(value)) return value.map(normalise);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalise(v)]));
  }
  return value;
}

const cborValue: fc.Arbitrary<CborValue> = fc.letrec<{ value: CborValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.maxSafeInteger(),
    fc.integer({ min: -100000, max: 100000 }),
    fc.double(),
    fc.float().map((f) => f as number),
    fc.string({ unit: "binary" }),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.uint8Array({ maxLength: 64 }),
    fc.array(tie("value"), { maxLength: 6 }),
    fc.dictionary(fc.string({ unit: "grapheme", maxLength: 8 }).filter((k) => k !== "__proto__"), tie("value"), { maxKeys: 6, noNullPrototype: true }),
  ),
})).value;

describe("device CBOR encoder in XS", () => {
  let xs: XsWorker;
  beforeAll(async () => {
    xs = await startXsWorker({ name: "cbor-conformance" });
    await xs.evaluate(await bundleFirmware("test/protocol/xs-encoder-entry.ts"));
  });
  afterAll(async () => {
    await xs?.close();
  });

  const encodeInXs = async (values: unknown[]) => (await xs.call<number[][]>("encode", { values: values.map(tagForJson) })).value;

  it("matches RFC 8949 Appendix A for integers", async () => {
    const out = await encodeInXs(integerVectors.map(([v]) => v));
    expect(out.map(hex)).toEqual(integerVectors.map(([, h]) => h));
  });

  it("matches RFC 8949 Appendix A for floats (shortest exact form)", async () => {
    const values = floatVectors.map(([v]) => (typeof v === "string" ? { $: v } : v));
    const out = (await xs.call<number[][]>("encodeFloat", { values })).value;
    expect(out.map(hex)).toEqual(floatVectors.map(([, h]) => h));
  });

  it("matches RFC 8949 Appendix A for simple values, strings, arrays and maps", async () => {
    const out = await encodeInXs(otherVectors.map(([v]) => v));
    expect(out.map(hex)).toEqual(otherVectors.map(([, h]) => h));
  });

  it("produces bytes that cbor-x decodes to the same value (property, XS)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(cborValue, { minLength: 1, maxLength: 20 }), async (values) => {
        const encoded = await encodeInXs(values);
        for (let i = 0; i < values.length; i++) {
          const decoded = cborDecoder.decode(Uint8Array.from(encoded[i]!));
          expect(normalise(decoded)).toStrictEqual(values[i]);
        }
      }),
      { numRuns: 60 },
    );
  });

  it("encodes the same bytes in XS as in Node", async () => {
    // The sample, plus a float32-exact value beyond 2^53 that once reached XS one ulp off.
    const values = [...fc.sample(cborValue, { numRuns: 200, seed: 42 }), -22704519976583170];
    const fromXs = await encodeInXs(values);
    expect(fromXs.map(hex)).toEqual(values.map((v) => hex(encodeCbor(v, 1 << 16))));
  });
});

describe("device CBOR encoder in Node", () => {
  it("round-trips through cbor-x (property)", () => {
    fc.assert(
      fc.property(cborValue, (value) => {
        const decoded = cborDecoder.decode(encodeCbor(value, 1 << 16));
        expect(normalise(decoded)).toStrictEqual(value);
      }),
      { numRuns: 1000 },
    );
  });

  it("reports overflow of its fixed buffer instead of growing", () => {
    const encoder = new CborEncoder(8);
    expect(() => encoder.value("a string longer than eight bytes")).toThrow(CborOverflowError);
  });

  it("rejects integers beyond 2^53 and unsupported types", () => {
    expect(() => new CborEncoder().int(2 ** 53)).toThrow(RangeError);
    expect(() => new CborEncoder().value((() => 1) as never)).toThrow(TypeError);
  });
});
