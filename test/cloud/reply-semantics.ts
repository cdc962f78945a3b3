// The ingest service's reply semantics, run against each storage by reply-semantics.test.ts (real
// InfluxDB 1.6.7 through the v1 writer, and the embedded SQLite store): authentication, validation
// of every field of the contract, partial rejection, idempotent retries, body limits, rate limits.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { gzipSync } from "node:zlib";
import { build } from "../../cloud/app.js";
import type { Writer } from "../../cloud/storage/writer.js";
import type { BatchReply, BatchRecord, ErrorReply } from "../../protocol/batch.js";
import { cborEncoder } from "../../protocol/schema/validate.js";
import {
  alertRecord, eventRecord, gatewayRecord, GW, makeBatch, makeTokens, mixedBatch, OTHER_GW, postBatch, statusRecord, teleRecord, testConfig, willRecord,
  type Tokens,
} from "./helpers/ingest-fixture.js";

export interface StorageUnderTest {
  writer: Writer;
  /** record ids (field rid) stored for a device in a measurement, one entry per point */
  storedRids(measurement: string, device: string): Promise<number[]>;
  dispose(): Promise<void>;
}

const errorOf = (body: string): ErrorReply => JSON.parse(body) as ErrorReply;
const replyOf = (body: string): BatchReply => JSON.parse(body) as BatchReply;

/** One invalid value per field of every record kind: [record maker, path under /recs/i, bad value, code]. */
type Mutation = { name: string; make: (device: string) => BatchRecord; path: string; value: unknown; code: string };
const longText = (n: number): string => "x".repeat(n);
const payloadMutations: [string, (device: string) => BatchRecord, [string, unknown, string?][]][] = [
  ["tele", (d) => teleRecord(d, 1), [
    ["v", 2, "VW_UNKNOWN_VERSION"], ["d", "other-device", "VW_DEVICE_MISMATCH"], ["b", -1], ["s", 1.5], ["t", -5], ["w", 8], ["r", 0],
    ["a", [1, 2]], ["u", [1, 2, -3]], ["f", [10]], ["p", "x"], ["c", -1], ["k", null], ["e", [1, 2, 3, 4, 5, 6, 7, 8, 9]], ["z", 4], ["n", -1], ["zz", 1],
  ]],
  ["alert", (d) => alertRecord(d, 1), [["k", "fire"], ["l", 3], ["x", 1e8], ["y", "1"], ["z", 5], ["m", longText(65)], ["s", -1]]],
  ["status", (d) => statusRecord(d, 1), [
    ["o", "yes"], ["fw", longText(25)], ["up", -1], ["mem", 1.5], ["rs", 1], ["q", -1], ["x", -1], ["ov", -1], ["sp", longText(17)], ["r", -1], ["bl", 3],
    ["be", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]], ["cv", -1], ["er", longText(97)], ["t", 5e12],
  ]],
  ["will", (d) => willRecord(d), [["b", -1], ["v", 0, "VW_UNKNOWN_VERSION"]]],
  ["gw", () => gatewayRecord(), [["q", -1], ["qb", 1.5], ["age", -1], ["up", "x"], ["x", -1], ["on", -1], ["v", 9, "VW_UNKNOWN_VERSION"]]],
  ["event", (d) => eventRecord(d), [["e", "exploded"], ["n", 0], ["m", longText(97)]]],
];

function mutations(): Mutation[] {
  const list: Mutation[] = [];
  for (const [kind, make, fields] of payloadMutations) {
    for (const [field, value, code] of fields) {
      list.push({ name: `${kind}.p.${field}`, make, path: `p/${field}`, value, code: code ?? "VW_SCHEMA" });
    }
  }
  list.push({ name: "tele.p missing z", make: (d) => teleRecord(d, 1), path: "p/z", value: undefined, code: "VW_SCHEMA" });
  for (const [field, value] of [["id", "seven"], ["ts", 5], ["k", "weird"], ["d", "UPPER"], ["p", [1]]] as [string, unknown][]) {
    list.push({ name: `record.${field}`, make: (d) => teleRecord(d, 1), path: field, value, code: "VW_SCHEMA" });
  }
  return list;
}

function mutate(record: BatchRecord, path: string, value: unknown): unknown {
  const copy = structuredClone(record) as unknown as Record<string, unknown>;
  const [first, second] = path.split("/") as [string, string?];
  const target = second === undefined ? copy : (copy[first] as Record<string, unknown>);
  const key = second ?? first;
  if (value === undefined) delete target[key];
  else target[key] = value;
  return copy;
}

export function replySemanticsSuite(name: string, setup: () => Promise<StorageUnderTest>): void {
  describe(`ingest reply semantics: ${name}`, () => {
    let storage: StorageUnderTest;
    let tokens: Tokens;
    let app: FastifyInstance;
    beforeAll(async () => {
      storage = await setup();
      tokens = await makeTokens();
      app = await build({ config: testConfig(tokens, { bodyLimitBytes: 64 * 1024, rateLimit: { maxBatches: 10_000 } }), writer: storage.writer });
    });
    afterAll(async () => {
      await app?.close();
      await storage?.dispose();
    });

    it("stores a batch of every record kind and lists every record as stored", async () => {
      const batch = mixedBatch("auth-ok");
      const response = await postBatch(app, batch, { token: tokens.token });
      expect(response.statusCode).toBe(200);
      expect(replyOf(response.body)).toEqual({ id: batch.id, stored: batch.recs.map((r) => r.id), rejected: [] });
      expect(await storage.storedRids("vw_tele", "auth-ok")).toEqual([batch.recs[0]!.id]);
      expect(await storage.storedRids("vw_status", "auth-ok")).toEqual([batch.recs[2]!.id, batch.recs[3]!.id]);
    });

    it("refuses a batch without a token (401) and stores nothing", async () => {
      const response = await postBatch(app, makeBatch([teleRecord("no-token", 1)]), { token: null });
      expect(response.statusCode).toBe(401);
      expect(errorOf(response.body)).toMatchObject({ statusCode: 401, code: "VW_MISSING_TOKEN", error: "Unauthorized" });
      expect(await storage.storedRids("vw_tele", "no-token")).toEqual([]);
    });

    it("refuses a wrong token (401), also one that carries a real gateway's prefix", async () => {
      for (const token of ["garbage", `${GW}.not-the-secret`, tokens.token.slice(0, -1) + (tokens.token.endsWith("A") ? "B" : "A")]) {
        const response = await postBatch(app, makeBatch([teleRecord("bad-token", 1)]), { token });
        expect(response.statusCode).toBe(401);
        expect(errorOf(response.body).code).toBe("VW_BAD_TOKEN");
      }
      expect(await storage.storedRids("vw_tele", "bad-token")).toEqual([]);
    });

    it("refuses another gateway's valid token (403) and stores nothing", async () => {
      const response = await postBatch(app, makeBatch([teleRecord("spoofed", 1)], GW), { token: tokens.otherToken });
      expect(response.statusCode).toBe(403);
      expect(errorOf(response.body)).toMatchObject({ code: "VW_GATEWAY_MISMATCH" });
      expect(errorOf(response.body).message).toContain(OTHER_GW);
      expect(await storage.storedRids("vw_tele", "spoofed")).toEqual([]);
    });

    it("rejects a body that is not CBOR, or truncated CBOR, with 400 and the contract's code", async () => {
      const notCbor = await postBatch(app, null, { token: tokens.token, raw: Buffer.from([0xff, 0xfe, 0xfd]) });
      expect(notCbor.statusCode).toBe(400);
      expect(errorOf(notCbor.body).code).toBe("VW_NOT_CBOR");
      const whole = Buffer.from(cborEncoder.encode(makeBatch([teleRecord("truncated", 1)])));
      const truncated = await postBatch(app, null, { token: tokens.token, raw: whole.subarray(0, whole.length - 7) });
      expect(truncated.statusCode).toBe(400);
      expect(errorOf(truncated.body).code).toBe("VW_TRUNCATED");
      const badJson = await postBatch(app, null, { token: tokens.token, raw: "{nope", contentType: "application/json" });
      expect(badJson.statusCode).toBe(400);
      expect(errorOf(badJson.body).code).toBe("VW_NOT_JSON");
    });

    it("rejects a batch of an unknown version (400 VW_UNKNOWN_VERSION)", async () => {
      const response = await postBatch(app, { ...makeBatch([teleRecord("version", 1)]), v: 2 }, { token: tokens.token });
      expect(response.statusCode).toBe(400);
      expect(errorOf(response.body)).toMatchObject({ code: "VW_UNKNOWN_VERSION" });
      expect(await storage.storedRids("vw_tele", "version")).toEqual([]);
    });

    it("rejects a broken batch envelope with 400 naming the field", async () => {
      const good = makeBatch([teleRecord("envelope", 1)]);
      const cases: [string, Record<string, unknown>][] = [
        ["/gw", { gw: "Bad Gateway" }],
        ["/site", { site: "" }],
        ["/id", { id: "" }],
        ["/recs", { recs: [] }],
        ["/recs", { recs: "nope" }],
        ["/extra", { extra: 1 }],
      ];
      for (const [field, change] of cases) {
        const response = await postBatch(app, { ...good, ...change }, { token: tokens.token });
        expect(response.statusCode, field).toBe(400);
        expect(errorOf(response.body).code).toBe("VW_SCHEMA");
        expect(errorOf(response.body).message).toContain(field);
      }
      const missing: Record<string, unknown> = { ...good };
      delete missing.site;
      const response = await postBatch(app, missing, { token: tokens.token });
      expect(response.statusCode).toBe(400);
      expect(errorOf(response.body).message).toContain("/site");
      expect(await storage.storedRids("vw_tele", "envelope")).toEqual([]);
    });

    it("rejects each record with a bad field (every field of the contract), naming it, and stores the good records of the same batch", async () => {
      const device = "partial";
      const list = mutations();
      const recs: unknown[] = [];
      const expectedRejections: { id: number; code: string; path: string; name: string }[] = [];
      const goodTele: number[] = [];
      list.forEach((mutation) => {
        const good = teleRecord(device, recs.length);
        goodTele.push(good.id);
        recs.push(good);
        const record = mutation.make(device);
        const index = recs.length;
        recs.push(mutate(record, mutation.path, mutation.value));
        const id = mutation.path === "id" ? -(index + 1) : record.id;
        expectedRejections.push({ id, code: mutation.code, path: `/recs/${index}/${mutation.path}`, name: mutation.name });
      });
      const batch = { ...makeBatch([]), recs };
      const response = await postBatch(app, batch, { token: tokens.token });
      expect(response.statusCode).toBe(200);
      const reply = replyOf(response.body);
      expect(reply.stored).toEqual(goodTele);
      expect(reply.rejected).toHaveLength(expectedRejections.length);
      reply.rejected.forEach((rejection, index) => {
        const expected = expectedRejections[index]!;
        expect({ name: expected.name, id: rejection.id, code: rejection.code }).toEqual({ name: expected.name, id: expected.id, code: expected.code });
        expect(rejection.reason, expected.name).toContain(expected.path);
      });
      expect(await storage.storedRids("vw_tele", device)).toEqual(goodTele);
      expect(await storage.storedRids("vw_alert", device)).toEqual([]);
      expect(await storage.storedRids("vw_status", device)).toEqual([]);
    });

    it("leaves exactly one point per record when the same batch is posted 3 times (idempotent retry)", async () => {
      const device = "retry";
      const batch = makeBatch([teleRecord(device, 1), teleRecord(device, 2), alertRecord(device, 3), statusRecord(device, 4)]);
      for (let attempt = 0; attempt < 3; attempt += 1) {
        const response = await postBatch(app, batch, { token: tokens.token, json: attempt === 1, gzip: attempt === 2 });
        expect(response.statusCode).toBe(200);
        expect(replyOf(response.body).stored).toEqual(batch.recs.map((r) => r.id));
      }
      expect(await storage.storedRids("vw_tele", device)).toEqual([batch.recs[0]!.id, batch.recs[1]!.id]);
      expect(await storage.storedRids("vw_alert", device)).toEqual([batch.recs[2]!.id]);
      expect(await storage.storedRids("vw_status", device)).toEqual([batch.recs[3]!.id]);
    });

    // issue 14, finding 5: within one batch, what is reported stored is stored as itself
    it("rejects the later of two records with the same id (VW_DUPLICATE_ID), per record", async () => {
      const device = "dup-id";
      const first = teleRecord(device, 1);
      const again = { ...teleRecord(device, 2), id: first.id };
      const other = teleRecord(device, 3);
      const response = await postBatch(app, makeBatch([first, again, other]), { token: tokens.token });
      expect(response.statusCode).toBe(200);
      const reply = replyOf(response.body);
      expect(reply.stored).toEqual([first.id, other.id]);
      expect(reply.rejected).toEqual([{ id: first.id, code: "VW_DUPLICATE_ID", reason: expect.stringContaining("/recs/1/id") }]);
      expect((await storage.storedRids("vw_tele", device)).sort((a, b) => a - b)).toEqual([first.id, other.id].sort((a, b) => a - b));
    });

    it("rejects a record on the same point (device + ts) as an earlier one with another id (VW_POINT_COLLISION): nothing acknowledged vanishes", async () => {
      const device = "collide";
      const first = teleRecord(device, 1);
      const clash = { ...teleRecord(device, 2), ts: first.ts };
      // another measurement at the same time is another point: stored
      const alertSameTime = { ...alertRecord(device, 3), ts: first.ts };
      const response = await postBatch(app, makeBatch([first, clash, alertSameTime]), { token: tokens.token, json: true });
      expect(response.statusCode).toBe(200);
      const reply = replyOf(response.body);
      expect(reply.stored).toEqual([first.id, alertSameTime.id]);
      expect(reply.rejected).toEqual([{ id: clash.id, code: "VW_POINT_COLLISION", reason: expect.stringContaining("/recs/1/ts") }]);
      // every id reported stored is in the storage
      expect(await storage.storedRids("vw_tele", device)).toEqual([first.id]);
      expect(await storage.storedRids("vw_alert", device)).toEqual([alertSameTime.id]);
    });

    it("rejects a gw record naming another device (VW_DEVICE_MISMATCH), per record", async () => {
      const own = gatewayRecord(GW);
      const foreign = gatewayRecord(OTHER_GW);
      const tele = teleRecord("gw-mismatch", 1);
      const response = await postBatch(app, makeBatch([own, foreign, tele]), { token: tokens.token });
      expect(response.statusCode).toBe(200);
      const reply = replyOf(response.body);
      expect(reply.stored).toEqual([own.id, tele.id]);
      expect(reply.rejected).toEqual([{ id: foreign.id, code: "VW_DEVICE_MISMATCH", reason: expect.stringContaining("/recs/1/d") }]);
      expect(await storage.storedRids("vw_gateway", OTHER_GW)).toEqual([]);
    });

    it("refuses a deeply nested JSON batch with 400 VW_TOO_DEEP, never 500", async () => {
      const batch = makeBatch([teleRecord("too-deep", 1)]);
      const deep = "[".repeat(20_000) + "1" + "]".repeat(20_000);
      for (const raw of [JSON.stringify(batch).replace('"recs":[', `"recs":[${deep},`), JSON.stringify({ ...batch, recs: [...batch.recs, { id: 9, k: "tele", d: "too-deep", ts: 1, p: [[[[[[[[[1]]]]]]]]] }] })]) {
        const response = await postBatch(app, null, { token: tokens.token, json: true, raw });
        expect(response.statusCode).toBe(400);
        expect(errorOf(response.body)).toMatchObject({ statusCode: 400, code: "VW_TOO_DEEP", error: "Bad Request" });
      }
      expect(await storage.storedRids("vw_tele", "too-deep")).toEqual([]);
    });

    it("refuses a body over the limit with 413, also when it only grows past it once gunzipped", async () => {
      const recs = Array.from({ length: 600 }, (_, i) => teleRecord("oversize", i));
      const big = makeBatch(recs);
      const plain = await postBatch(app, big, { token: tokens.token });
      expect(plain.statusCode).toBe(413);
      expect(errorOf(plain.body).code).toBe("VW_BODY_TOO_LARGE");
      const encoded = Buffer.from(cborEncoder.encode(big));
      expect(gzipSync(encoded).length).toBeLessThan(64 * 1024);
      const zipped = await postBatch(app, big, { token: tokens.token, gzip: true });
      expect(zipped.statusCode).toBe(413);
      expect(await storage.storedRids("vw_tele", "oversize")).toEqual([]);
    });

    it("refuses other media types and encodings with 415, and broken gzip with 400", async () => {
      const batch = makeBatch([teleRecord("media", 1)]);
      const text = await postBatch(app, batch, { token: tokens.token, contentType: "text/plain", raw: JSON.stringify(batch) });
      expect(text.statusCode).toBe(415);
      expect(errorOf(text.body).code).toBe("VW_UNSUPPORTED_MEDIA_TYPE");
      const brotli = await app.inject({
        method: "POST", url: "/v1/batches",
        headers: { authorization: `Bearer ${tokens.token}`, "content-type": "application/cbor", "content-encoding": "br" },
        payload: Buffer.from(cborEncoder.encode(batch)),
      });
      expect(brotli.statusCode).toBe(415);
      expect(errorOf(brotli.body).code).toBe("VW_UNSUPPORTED_ENCODING");
      const brokenGzip = await app.inject({
        method: "POST", url: "/v1/batches",
        headers: { authorization: `Bearer ${tokens.token}`, "content-type": "application/cbor", "content-encoding": "gzip" },
        payload: Buffer.from("this is not gzip at all"),
      });
      expect(brokenGzip.statusCode).toBe(400);
      expect(errorOf(brokenGzip.body).code).toBe("VW_BAD_ENCODING");
      expect(await storage.storedRids("vw_tele", "media")).toEqual([]);
    });

    it("rate-limits each gateway on its own: 429 with Retry-After, the other gateway still served", async () => {
      const limited = await build({ config: testConfig(tokens, { rateLimit: { maxBatches: 2, windowMs: 60_000 } }), writer: storage.writer });
      try {
        for (let i = 0; i < 2; i += 1) {
          expect((await postBatch(limited, makeBatch([teleRecord("limited", i)]), { token: tokens.token })).statusCode).toBe(200);
        }
        const refused = await postBatch(limited, makeBatch([teleRecord("limited", 9)]), { token: tokens.token });
        expect(refused.statusCode).toBe(429);
        expect(errorOf(refused.body).code).toBe("VW_RATE_LIMITED");
        expect(Number(refused.headers["retry-after"])).toBeGreaterThan(0);
        const other = await postBatch(limited, makeBatch([teleRecord("other-gw", 1)], OTHER_GW), { token: tokens.otherToken });
        expect(other.statusCode).toBe(200);
        const metrics = await limited.inject({ url: "/metrics" });
        expect(metrics.body).toMatch(/vw_ingest_requests_refused_total\{code="VW_RATE_LIMITED"\} 1/);
      } finally {
        await limited.close();
      }
    });

    it("counts stored and rejected records by kind and reason in /metrics", async () => {
      const response = await app.inject({ url: "/metrics" });
      expect(response.statusCode).toBe(200);
      expect(response.body).toMatch(/vw_ingest_records_stored_total\{kind="tele"\} [1-9]/);
      expect(response.body).toMatch(/vw_ingest_records_rejected_total\{reason="VW_SCHEMA"\} [1-9]/);
      expect(response.body).toMatch(/vw_ingest_batches_total\{status="401"\} [1-9]/);
    });
  });
}
