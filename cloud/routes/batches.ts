// POST /v1/batches: a gateway's batch (protocol/batch.ts), CBOR or JSON, optionally gzip-encoded.
// auth (onRequest; failures counted per address, 429 beyond the budget) -> rate limit per gateway (preParsing) -> gunzip -> parse -> envelope check
// (validateBatchEnvelope, as the body schema) -> token's gateway == batch.gw -> each record checked
// (validateRecord: a bad one is rejected with its code, the others go on; then the batch's identity
// checks: duplicate ids, two records on one storage point, a gw record naming another device) ->
// storage write in a
// bounded slot -> 200 {id, stored, rejected} ONLY once storage accepted the write; 503 with
// Retry-After and nothing acknowledged when it did not.
import { createGunzip } from "node:zlib";
import type { FastifyInstance, FastifyRequest } from "fastify";
import rateLimit from "@fastify/rate-limit";
import type { BatchRecord, BatchReply, RecordRejection } from "../../protocol/batch.js";
import { BatchReplySchema, BatchSchema, ErrorReplySchema } from "../../protocol/schema/batch-schema.js";
import { decodeCbor, validateBatchEnvelope, validateRecord, type BatchEnvelope } from "../../protocol/schema/validate.js";
import { ContractError, ContractErrorCode } from "../../protocol/errors.js";
import { MAX_BATCH_RECORDS } from "../../protocol/limits.js";
import { ingestError, IngestError } from "../errors.js";
import type { Authenticator } from "../auth/authenticator.js";
import type { UnauthenticatedLimit } from "../auth/unauthenticated-limit.js";
import type { IngestMetrics } from "../metrics.js";
import type { WriteSlots } from "../write-slots.js";
import { pointKeyOf, pointMeasurement, type StoredRecord } from "../storage/point-schema.js";
import { checkJsonDepth } from "./json-depth.js";
import { StorageUnavailableError, type Writer } from "../storage/writer.js";

declare module "fastify" {
  interface FastifyRequest {
    /** set by authentication: the gateway the bearer token belongs to */
    gatewayId: string | null;
  }
}

export interface BatchRouteOptions {
  authenticator: Authenticator;
  /** counts failed authentications per remote address */
  unauthenticated: UnauthenticatedLimit;
  writer: Writer;
  slots: WriteSlots;
  metrics: IngestMetrics;
  bodyLimitBytes: number;
  rateLimit: { maxBatches: number; windowMs: number };
  retryAfterS: number;
}

const errorStatuses = [400, 401, 403, 413, 415, 429, 503] as const;

/** Nesting bound of a batch body, CBOR or JSON (a batch needs 5: batch, recs, record, payload, axis array). */
const MAX_BODY_DEPTH = 8;

export async function batchRoutes(app: FastifyInstance, options: BatchRouteOptions): Promise<void> {
  const { authenticator, writer, slots, metrics } = options;
  app.decorateRequest("gatewayId", null);

  await app.register(rateLimit, {
    global: false,
    hook: "preParsing",
    // per gateway, not per address: gateways behind one NAT do not share a budget
    keyGenerator: (request: FastifyRequest) => request.gatewayId ?? request.ip,
    errorResponseBuilder: (_request, context) =>
      ingestError("RateLimited", `at most ${context.max} batches per ${context.after}`, { retryAfterS: Math.max(1, Math.ceil(context.ttl / 1000)) }),
  });

  // batches are CBOR or JSON only: anything else is 415
  app.removeContentTypeParser(["text/plain"]);
  // CBOR bodies arrive as one Buffer (bodyLimit enforced by Fastify on the inflated size)
  app.addContentTypeParser("application/cbor", { parseAs: "buffer" }, (_request, body, done) => {
    try {
      done(null, decodeCbor(body as Buffer, options.bodyLimitBytes, { maxDepth: MAX_BODY_DEPTH, maxItems: MAX_BATCH_RECORDS * 64 }));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  // JSON: Fastify's own parser (prototype-poisoning checks included), behind the same depth bound
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser(["application/json"]);
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    try {
      checkJsonDepth(body as string, MAX_BODY_DEPTH);
    } catch (error) {
      done(error as Error, undefined);
      return;
    }
    parseJson(request, body as string, done);
  });

  const response: Record<number, unknown> = { 200: BatchReplySchema };
  for (const status of errorStatuses) response[status] = ErrorReplySchema;

  app.post(
    "/v1/batches",
    {
      bodyLimit: options.bodyLimitBytes,
      schema: { body: BatchSchema, response },
      // the envelope is checked by the protocol's own validator, so errors carry contract codes
      validatorCompiler: ({ httpPart }) => (data: unknown) => {
        if (httpPart !== "body") return { value: data };
        try {
          return { value: validateBatchEnvelope(data) };
        } catch (error) {
          return { error: error as Error };
        }
      },
      config: { rateLimit: { max: options.rateLimit.maxBatches, timeWindow: options.rateLimit.windowMs } },
      onRequest: async (request) => {
        try {
          request.gatewayId = await authenticator.authenticate(request.headers.authorization);
        } catch (error) {
          // counted only once the token failed: a gateway that authenticates is never limited
          const retryAfterS = error instanceof IngestError ? options.unauthenticated.fail(request.ip) : undefined;
          if (retryAfterS !== undefined) throw ingestError("AuthRateLimited", `from ${request.ip}`, { retryAfterS });
          throw error;
        }
      },
      preParsing: async (request, _reply, payload) => {
        const encoding = (request.headers["content-encoding"] ?? "identity").toLowerCase().trim();
        if (encoding === "identity") return payload;
        if (encoding !== "gzip" && encoding !== "x-gzip") throw ingestError("UnsupportedEncoding", `got "${encoding}"`);
        const gunzip = createGunzip();
        // a broken gzip stream is the client's fault: 400, not 500
        gunzip.on("error", (error: Error & { statusCode?: number; code?: string }) => {
          error.statusCode = 400;
          error.code = "VW_BAD_ENCODING";
        });
        // Fastify compares Content-Length with the bytes received: count the encoded ones
        const counted = gunzip as typeof gunzip & { receivedEncodedLength: number };
        counted.receivedEncodedLength = 0;
        payload.on("data", (chunk: Buffer) => {
          counted.receivedEncodedLength += chunk.length;
        });
        return payload.pipe(gunzip);
      },
    },
    async (request, reply) => {
      const batch = request.body as BatchEnvelope;
      if (batch.gw !== request.gatewayId) {
        throw ingestError("GatewayMismatch", `token is for "${request.gatewayId}", batch says gw "${batch.gw}"`);
      }
      const checked = checkRecords(batch);
      const { id: batchId, gw } = batch;
      // Nothing below needs the decoded batch, only ids and counts: let the garbage collector take
      // it while the storage works instead of copying it through every collection until the reply.
      (request as { body: unknown }).body = undefined;
      const { ids, kindCounts, rejected } = checked;
      const storageRejected = ids.length === 0 ? [] : await store(takeRecords(checked));
      rejected.push(...storageRejected);

      let stored = ids;
      if (storageRejected.length > 0) {
        const refused = new Set(storageRejected.map((r) => r.id));
        stored = ids.filter((id) => !refused.has(id));
        // a refused record no longer counts as stored under its kind
        for (const [index, id] of ids.entries()) if (refused.has(id)) kindCounts.set(checked.kinds[index] as string, (kindCounts.get(checked.kinds[index] as string) ?? 1) - 1);
      }
      // one increment per label, not per record: prom-client hashes the labels on every call
      for (const [kind, count] of kindCounts) if (count > 0) metrics.recordsStored.inc({ kind }, count);
      const rejectedByCode = new Map<string, number>();
      for (const rejection of rejected) rejectedByCode.set(rejection.code, (rejectedByCode.get(rejection.code) ?? 0) + 1);
      for (const [reason, count] of rejectedByCode) metrics.recordsRejected.inc({ reason }, count);
      if (rejected.length > 0) request.log.warn({ batch: batchId, gw, rejected: rejected.slice(0, 5), count: rejected.length }, "records rejected");
      const body: BatchReply = { id: batchId, stored, rejected };
      metrics.gatewayLastBatch.set({ gateway: gw }, Date.now() / 1000);
      return reply.code(200).send(body);
    },
  );

  async function store(records: StoredRecord[]): Promise<RecordRejection[]> {
    const release = await slots.acquire();
    const stopTimer = metrics.writeLatency.startTimer({ storage: writer.kind });
    try {
      const written = writer.write(records);
      // the writer formatted what it needs: drop the records for the rest of the write (GC)
      records = [];
      const result = await written;
      stopTimer({ outcome: "ok" });
      return result.rejected;
    } catch (error) {
      stopTimer({ outcome: "error" });
      if (error instanceof StorageUnavailableError) {
        metrics.storageErrors.inc({ storage: writer.kind, reason: error.reason });
        throw ingestError("StorageUnavailable", error.message, { retryAfterS: options.retryAfterS });
      }
      throw error;
    } finally {
      release();
    }
  }
}

interface CheckedRecords {
  /** the valid records, for the writer (taken once by takeRecords) */
  records: StoredRecord[];
  /** ids and kinds of the valid records, in order */
  ids: number[];
  kinds: string[];
  kindCounts: Map<string, number>;
  rejected: RecordRejection[];
}

/**
 * Checks each record on its own (a bad one is rejected with its code, the others go on), then its
 * identity within the batch, so that everything reported stored is stored as itself:
 * - an id already seen in this batch (valid or not): VW_DUPLICATE_ID;
 * - a gw record (the gateway's own state, stored with device = the gateway) naming another device:
 *   VW_DEVICE_MISMATCH;
 * - the storage point (measurement + device + ts; site and gateway are the batch's) of an earlier
 *   record with another id: VW_POINT_COLLISION. InfluxDB would keep one of the two points, and the
 *   other, acknowledged, would vanish.
 * The later record is the one rejected.
 */
function checkRecords(batch: BatchEnvelope): CheckedRecords {
  const checked: CheckedRecords = { records: [], ids: [], kinds: [], kindCounts: new Map(), rejected: [] };
  const { site, gw: gateway } = batch;
  const seenIds = new Set<number>();
  const pointOwners = new Map<string, number>();
  for (let index = 0; index < batch.recs.length; index += 1) {
    const value = batch.recs[index];
    const readableId = recordIdOf(value, index);
    if (readableId >= 0 && seenIds.has(readableId)) {
      checked.rejected.push({ id: readableId, code: ContractErrorCode.DuplicateId, reason: `/recs/${index}/id: record id ${readableId} is already in this batch` });
      continue;
    }
    if (readableId >= 0) seenIds.add(readableId);
    let record: BatchRecord;
    try {
      record = validateRecord(value, index);
    } catch (error) {
      if (!(error instanceof ContractError)) throw error;
      checked.rejected.push({ id: readableId, code: error.code, reason: error.message });
      continue;
    }
    if (record.k === "gw" && record.d !== gateway) {
      checked.rejected.push({ id: record.id, code: ContractErrorCode.DeviceMismatch, reason: `/recs/${index}/d: a gw record is the batch's gateway ("${gateway}"), not "${record.d}"` });
      continue;
    }
    const point = pointKeyOf(record);
    const owner = pointOwners.get(point);
    if (owner !== undefined) {
      checked.rejected.push({
        id: record.id,
        code: ContractErrorCode.PointCollision,
        reason: `/recs/${index}/ts: record ${owner} of this batch is stored at the same point (${pointMeasurement(record)}, ${record.k === "read" ? "source" : "device"} "${record.d}", ts ${record.k === "read" ? (record.p as { t: number }).t : record.ts})`,
      });
      continue;
    }
    pointOwners.set(point, record.id);
    checked.records.push({ record, site, gateway });
    checked.ids.push(record.id);
    checked.kinds.push(record.k);
    checked.kindCounts.set(record.k, (checked.kindCounts.get(record.k) ?? 0) + 1);
  }
  return checked;
}

/** Hands the records over once, leaving no reference to them in `checked`. */
function takeRecords(checked: CheckedRecords): StoredRecord[] {
  const records = checked.records;
  checked.records = [];
  return records;
}

/** The record's own id when it has a readable one, else -(index + 1): the gateway cannot match it. */
function recordIdOf(value: unknown, index: number): number {
  const id = (value as { id?: unknown } | null)?.id;
  return typeof id === "number" && Number.isSafeInteger(id) ? id : -(index + 1);
}

