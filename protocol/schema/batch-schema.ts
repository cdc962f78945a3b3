// Runtime schemas of the gateway -> cloud batch body and the reply, tied to ../batch.ts.
// The batch envelope is checked here; each record's payload is checked per record by
// validateRecord() so one bad record never costs the good ones (the reply lists it).
import { Type, type Static } from "@sinclair/typebox";
import type { Batch, BatchReply, ErrorReply, GatewayEvent, GatewayStatus } from "../batch.js";
import { RECORD_KINDS } from "../batch.js";
import { ID_MAX_LENGTH, ID_PATTERN } from "../topics.js";
import { MAX_BATCH_RECORDS, PAYLOAD_VERSION } from "../limits.js";

const Id = Type.String({ pattern: ID_PATTERN.source, maxLength: ID_MAX_LENGTH });
const U32 = Type.Integer({ minimum: 0, maximum: 4294967295 });

export const GatewayStatusSchema = Type.Object(
  {
    v: Type.Literal(PAYLOAD_VERSION),
    q: U32,
    qb: Type.Integer({ minimum: 0 }),
    age: U32,
    up: U32,
    x: U32,
    on: U32,
  },
  { additionalProperties: false },
);

export const GatewayEventSchema = Type.Object(
  {
    v: Type.Literal(PAYLOAD_VERSION),
    e: Type.Union([Type.Literal("offline"), Type.Literal("online"), Type.Literal("rate_limited"), Type.Literal("quarantined")]),
    n: Type.Integer({ minimum: 1, maximum: 4294967295 }),
    m: Type.Optional(Type.String({ maxLength: 96 })),
  },
  { additionalProperties: false },
);

/** A record as the envelope sees it: the payload is any map until validateRecord() checks it. */
export const BatchRecordEnvelopeSchema = Type.Object(
  {
    id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
    // µs since epoch: 2001..2100
    ts: Type.Integer({ minimum: 1e15, maximum: 4.1e15 }),
    k: Type.Union(RECORD_KINDS.map((kind) => Type.Literal(kind))),
    d: Id,
    // any map: validateRecord() checks it by kind next. Not Type.Record, whose compiled check
    // builds Object.entries() of every payload only to accept any key.
    p: Type.Object({}, { additionalProperties: true }),
  },
  { additionalProperties: false },
);

export const BatchSchema = Type.Object(
  {
    v: Type.Literal(PAYLOAD_VERSION),
    gw: Id,
    site: Id,
    id: Type.String({ minLength: 1, maxLength: 64 }),
    recs: Type.Array(Type.Unknown(), { minItems: 1, maxItems: MAX_BATCH_RECORDS }),
  },
  { additionalProperties: false },
);

export const RecordRejectionSchema = Type.Object({
  id: Type.Integer(),
  code: Type.String(),
  reason: Type.String(),
});

export const BatchReplySchema = Type.Object({
  id: Type.String(),
  stored: Type.Array(Type.Integer()),
  rejected: Type.Array(RecordRejectionSchema),
});

export const ErrorReplySchema = Type.Object({
  statusCode: Type.Integer(),
  code: Type.String(),
  error: Type.String(),
  message: Type.String(),
});

// Mutual assignability: each type fits the other (strict identity trips over TypeBox intersections).
type Equals<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
export type BatchTypeTies = [
  Assert<Equals<Static<typeof GatewayStatusSchema>, GatewayStatus>>,
  Assert<Equals<Static<typeof GatewayEventSchema>, GatewayEvent>>,
  Assert<Equals<Static<typeof BatchReplySchema>, BatchReply>>,
  Assert<Equals<Static<typeof ErrorReplySchema>, ErrorReply>>,
  Assert<Equals<Omit<Static<typeof BatchSchema>, "recs">, Omit<Batch, "recs">>>,
];
