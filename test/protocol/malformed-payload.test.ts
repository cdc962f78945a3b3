// Bad input at the contract: every way a device payload or batch can be wrong is rejected with
// a ContractError whose code and field name what was wrong.
import { describe, expect, it } from "vitest";
import { ContractError, ContractErrorCode } from "../../protocol/errors.js";
import { encodeCbor, type CborValue } from "../../protocol/cbor-encoder.js";
import { decodeDeviceMessage, validateBatchEnvelope, validateRecord, decodeCbor } from "../../protocol/schema/validate.js";
import { sampleAlert, sampleBatch, sampleConfig, sampleStatus, sampleTelemetry, sampleWill } from "../../protocol/examples.js";
import { MAX_DEVICE_MESSAGE_BYTES } from "../../protocol/limits.js";

function rejection(run: () => unknown): ContractError {
  try {
    run();
  } catch (error) {
    if (error instanceof ContractError) return error;
    throw new Error(`expected a ContractError, got ${String(error)}`);
  }
  throw new Error("expected a rejection, but the input was accepted");
}

const encode = (value: unknown) => encodeCbor(value as CborValue);
const tele = (patch: Record<string, unknown>) => encode({ ...sampleTelemetry, ...patch });

describe("valid examples", () => {
  it("accepts one example of every payload", () => {
    expect(decodeDeviceMessage("tele", encode(sampleTelemetry), "pump-07").payload).toEqual(sampleTelemetry);
    expect(decodeDeviceMessage("alert", encode(sampleAlert), "pump-07").payload).toEqual(sampleAlert);
    expect(decodeDeviceMessage("status", encode(sampleStatus), "pump-07")).toEqual({ kind: "status", payload: sampleStatus });
    expect(decodeDeviceMessage("status", encode(sampleWill), "pump-07")).toEqual({ kind: "will", payload: sampleWill });
    expect(decodeDeviceMessage("cfg", encode(sampleConfig)).payload).toEqual(sampleConfig);
    const batch = validateBatchEnvelope(sampleBatch);
    expect(validateRecord(batch.recs[0], 0)).toEqual(sampleBatch.recs[0]);
  });

  it("keeps telemetry within the 128-byte target", () => {
    expect(encode(sampleTelemetry).length).toBeLessThanOrEqual(128);
  });
});

describe("rejected device payloads", () => {
  it("not CBOR", () => {
    const error = rejection(() => decodeDeviceMessage("tele", new Uint8Array([0xff, 0x00, 0x01]), "pump-07"));
    expect(error.code).toBe(ContractErrorCode.NotCbor);
  });

  it("JSON sent instead of CBOR", () => {
    const error = rejection(() => decodeDeviceMessage("tele", new TextEncoder().encode(JSON.stringify(sampleTelemetry)), "pump-07"));
    expect(error.code).toBe(ContractErrorCode.NotCbor);
  });

  it("truncated at every length", () => {
    const bytes = encode(sampleTelemetry);
    for (let length = 0; length < bytes.length; length++) {
      const error = rejection(() => decodeDeviceMessage("tele", bytes.subarray(0, length), "pump-07"));
      expect(error.code, `length ${length}`).toBe(ContractErrorCode.Truncated);
    }
  });

  it("trailing bytes after the message", () => {
    const bytes = new Uint8Array([...encode(sampleTelemetry), 0x00]);
    expect(rejection(() => decodeDeviceMessage("tele", bytes, "pump-07")).code).toBe(ContractErrorCode.NotCbor);
  });

  it("oversized", () => {
    const bytes = encode({ ...sampleTelemetry, pad: "x".repeat(MAX_DEVICE_MESSAGE_BYTES) });
    const error = rejection(() => decodeDeviceMessage("tele", bytes, "pump-07"));
    expect(error.code).toBe(ContractErrorCode.Oversize);
    expect(error.message).toMatch(/limit 1024/);
  });

  it("nested too deep", () => {
    let value: unknown = 1;
    for (let i = 0; i < 12; i++) value = [value];
    expect(rejection(() => decodeDeviceMessage("tele", encode(value), "pump-07")).code).toBe(ContractErrorCode.TooDeep);
  });

  it("an array header claiming more items than there are bytes", () => {
    // 0x9a = array with a 4-byte length: 2^32 - 1 items, followed by nothing
    const bytes = new Uint8Array([0x9a, 0xff, 0xff, 0xff, 0xff]);
    expect(rejection(() => decodeDeviceMessage("tele", bytes, "pump-07")).code).toBe(ContractErrorCode.Truncated);
  });

  it("not a map", () => {
    const error = rejection(() => decodeDeviceMessage("tele", encode([1, 2, 3]), "pump-07"));
    expect(error.code).toBe(ContractErrorCode.Schema);
    expect(error.field).toBe("/");
  });

  it("unknown version", () => {
    const error = rejection(() => decodeDeviceMessage("tele", tele({ v: 2 }), "pump-07"));
    expect(error.code).toBe(ContractErrorCode.UnknownVersion);
    expect(error.field).toBe("/v");
  });

  it("missing version", () => {
    const { v: _v, ...rest } = sampleTelemetry;
    const error = rejection(() => decodeDeviceMessage("tele", encode(rest), "pump-07"));
    expect(error.field).toBe("/v");
  });

  it("device id in the payload differs from the topic (spoofing)", () => {
    const error = rejection(() => decodeDeviceMessage("tele", encode(sampleTelemetry), "pump-08"));
    expect(error.code).toBe(ContractErrorCode.DeviceMismatch);
    expect(error.field).toBe("/d");
  });

  it("unknown field", () => {
    const error = rejection(() => decodeDeviceMessage("tele", tele({ zz: 1 }), "pump-07"));
    expect(error.code).toBe(ContractErrorCode.Schema);
    expect(error.field).toBe("/zz");
  });

  // Each field of the telemetry contract, with a wrong value: the error names that field.
  const wrongTelemetry: [string, Record<string, unknown>][] = [
    ["/d", { d: "Pump 7" }],
    ["/b", { b: -1 }],
    ["/s", { s: 1.5 }],
    ["/t", { t: "now" }],
    ["/w", { w: 3 }],
    ["/r", { r: 0 }],
    ["/a", { a: [1, 2] }],
    ["/a/1", { a: [1, "2", 3] }],
    ["/u/2", { u: [1, 2, -3] }],
    ["/f/0", { f: [-10, 1000] }],
    ["/p", { p: null }],
    ["/c", { c: 1.25 }],
    ["/k", { k: true }],
    ["/e", { e: [1, 2, 3, 4, 5, 6, 7, 8, 9] }],
    ["/z", { z: 4 }],
    ["/n", { n: "high" }],
  ];
  for (const [field, patch] of wrongTelemetry) {
    it(`telemetry with a wrong ${field}`, () => {
      const error = rejection(() => decodeDeviceMessage("tele", tele(patch), "pump-07"));
      expect(error.code).toBe(ContractErrorCode.Schema);
      expect(error.field === field || error.field.startsWith(`${field}/`) || field.startsWith(error.field)).toBe(true);
      expect(error.message).toContain(error.field);
    });
  }

  it("telemetry missing a field", () => {
    const { u: _u, ...rest } = sampleTelemetry;
    const error = rejection(() => decodeDeviceMessage("tele", encode(rest), "pump-07"));
    expect(error.field).toBe("/u");
  });

  it("alert with an unknown kind and status with a wrong type", () => {
    expect(rejection(() => decodeDeviceMessage("alert", encode({ ...sampleAlert, k: "fire" }), "pump-07")).field).toBe("/k");
    expect(rejection(() => decodeDeviceMessage("status", encode({ ...sampleStatus, rs: 12 }), "pump-07")).field).toBe("/rs");
  });

  it("config with an out-of-range rate", () => {
    expect(rejection(() => decodeDeviceMessage("cfg", encode({ ...sampleConfig, r: 99999 }))).field).toBe("/r");
  });
});

describe("rejected batches and records", () => {
  it("batch with an unknown version or a bad gateway id", () => {
    expect(rejection(() => validateBatchEnvelope({ ...sampleBatch, v: 9 })).code).toBe(ContractErrorCode.UnknownVersion);
    expect(rejection(() => validateBatchEnvelope({ ...sampleBatch, gw: "GW 1" })).field).toBe("/gw");
    expect(rejection(() => validateBatchEnvelope({ ...sampleBatch, recs: [] })).field).toBe("/recs");
  });

  it("a record whose payload is bad names the record and the field", () => {
    const record = { ...sampleBatch.recs[0], p: { ...sampleTelemetry, u: [1, 2, "x"] } };
    const error = rejection(() => validateRecord(record, 7));
    expect(error.field).toBe("/recs/7/p/u/2");
  });

  it("a record whose device differs from its payload", () => {
    const record = { ...sampleBatch.recs[0], d: "pump-99" };
    expect(rejection(() => validateRecord(record, 0)).code).toBe(ContractErrorCode.DeviceMismatch);
  });

  it("a record whose payload is not a map, for every kind", () => {
    for (const k of ["tele", "alert", "status", "gw", "event"]) {
      for (const p of [7, "x", null, [1, 2], new Uint8Array([1])]) {
        const error = rejection(() => validateRecord({ ...sampleBatch.recs[0], k, p }, 3));
        expect(error.code, `${k} ${String(p)}`).toBe(ContractErrorCode.Schema);
        expect(error.field, `${k} ${String(p)}`).toBe("/recs/3/p");
      }
    }
  });

  it("a record with a timestamp that is not µs", () => {
    const record = { ...sampleBatch.recs[0], ts: 1764331200123 };
    expect(rejection(() => validateRecord(record, 0)).field).toBe("/recs/0/ts");
  });

  it("indefinite-length CBOR is refused up front", () => {
    expect(rejection(() => decodeCbor(new Uint8Array([0x9f, 0x01, 0xff]))).code).toBe(ContractErrorCode.NotCbor);
  });
});
