// Guards against the hand-spliced batch body drifting from the contract: it must decode, with the
// protocol's own decoder, to exactly what cborEncoder.encode(batch) would, and pass validation.
import { expect, it } from "vitest";
import fc from "fast-check";
import { encodeBatch } from "../../gateway/sinks/batch-encoder.js";
import { cborDecoder, cborEncoder, validateBatchEnvelope, validateRecord } from "../../protocol/schema/validate.js";
import { sampleAlert, sampleTelemetry } from "../../protocol/examples.js";
import type { RecordKind } from "../../protocol/batch.js";

it("encodes batches that decode to the records as stored, for any ids, timestamps and payloads", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          id: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
          ts: fc.integer({ min: 1e15, max: 4.1e15 }),
          alert: fc.boolean(),
          seq: fc.integer({ min: 0, max: 4294967295 }),
          device: fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,23}$/),
        }),
        { minLength: 1, maxLength: 40 },
      ),
      fc.string({ minLength: 1, maxLength: 64 }),
      (records, batchId) => {
        const stored = records.map((r) => {
          const p = r.alert ? { ...sampleAlert, d: r.device, s: r.seq } : { ...sampleTelemetry, d: r.device, s: r.seq };
          return { id: r.id, ts: r.ts, kind: (r.alert ? "alert" : "tele") as RecordKind, device: r.device, body: cborEncoder.encode(p) as Uint8Array, p };
        });
        const bytes = encodeBatch({ gateway: "gw-1", site: "site-1", id: batchId }, stored);
        const expected = { v: 1, gw: "gw-1", site: "site-1", id: batchId, recs: stored.map((r) => ({ id: r.id, ts: r.ts, k: r.kind, d: r.device, p: r.p })) };
        const decoded = cborDecoder.decode(bytes);
        expect(decoded).toEqual(expected);
        expect(cborDecoder.decode(cborEncoder.encode(expected))).toEqual(decoded);
        const envelope = validateBatchEnvelope(decoded);
        envelope.recs.forEach((record, index) => validateRecord(record, index));
      },
    ),
    { numRuns: 200 },
  );
});
