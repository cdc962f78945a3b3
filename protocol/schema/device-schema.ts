// Runtime schemas (TypeBox) of the device messages, tied at compile time to the plain types in
// ../messages.ts so the two cannot drift. Used by the gateway (on receipt) and the cloud (per record).
import { Type, type Static, type TSchema } from "@sinclair/typebox";
import { ALERT_KINDS, MACHINE_CLASSES, type Alert, type DeviceConfig, type Status, type Telemetry, type Will } from "../messages.js";
import { ID_MAX_LENGTH, ID_PATTERN } from "../topics.js";
import { MAX_BANDS, PAYLOAD_VERSION } from "../limits.js";
import { OTA_STATES } from "../ota.js";
import { CONFIG_FIELDS } from "../config-fields.js";

const UINT32_MAX = 4294967295;
/** Largest device timestamp accepted: year 2100, ms. */
const MAX_TIMESTAMP_MS = 4102444800000;

const Id = Type.String({ pattern: ID_PATTERN.source, maxLength: ID_MAX_LENGTH });
const U32 = Type.Integer({ minimum: 0, maximum: UINT32_MAX });
/** centi-units of physical magnitudes: up to 10^7 (100,000 m/s², 100 m/s...) */
const Centi = Type.Integer({ minimum: 0, maximum: 10_000_000 });
const Zone = Type.Union([Type.Literal(0), Type.Literal(1), Type.Literal(2), Type.Literal(3)]);

export const EnvelopeFields = {
  v: Type.Literal(PAYLOAD_VERSION),
  d: Id,
  b: U32,
  s: U32,
  t: Type.Integer({ minimum: 0, maximum: MAX_TIMESTAMP_MS }),
};

export const TelemetrySchema = Type.Object(
  {
    ...EnvelopeFields,
    w: Type.Integer({ minimum: 16, maximum: 65536 }),
    r: Type.Integer({ minimum: 1, maximum: 100_000 }),
    a: Type.Tuple([Centi, Centi, Centi]),
    u: Type.Tuple([Centi, Centi, Centi]),
    f: Type.Tuple([Type.Integer({ minimum: 0, maximum: 50_000 }), Type.Integer({ minimum: 0, maximum: 50_000 })]),
    p: Centi,
    c: Centi,
    k: Centi,
    e: Type.Array(Centi, { maxItems: MAX_BANDS }),
    z: Zone,
    n: Type.Union([Centi, Type.Null()]),
  },
  { additionalProperties: false },
);

export const AlertSchema = Type.Object(
  {
    ...EnvelopeFields,
    k: Type.Union(ALERT_KINDS.map((kind) => Type.Literal(kind))),
    l: Type.Union([Type.Literal(0), Type.Literal(1), Type.Literal(2)]),
    x: Type.Integer({ minimum: -10_000_000, maximum: 10_000_000 }),
    y: Type.Integer({ minimum: -10_000_000, maximum: 10_000_000 }),
    z: Zone,
    m: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);

export const StatusSchema = Type.Object(
  {
    ...EnvelopeFields,
    o: Type.Boolean(),
    fw: Type.String({ maxLength: 24 }),
    up: U32,
    mem: U32,
    rs: Type.Integer({ minimum: -127, maximum: 0 }),
    q: U32,
    x: U32,
    ov: U32,
    sp: Type.String({ maxLength: 16 }),
    r: Type.Integer({ minimum: 0, maximum: 100_000 }),
    bl: Type.Union([Type.Literal(0), Type.Literal(1), Type.Literal(2)]),
    be: Type.Array(Type.Integer({ minimum: 0, maximum: 50_000 }), { maxItems: MAX_BANDS + 1 }),
    cv: U32,
    er: Type.Optional(Type.String({ maxLength: 96 })),
    sl: Type.Optional(Type.Union([Type.Literal(0), Type.Literal(1)])),
    os: Type.Optional(Type.Union(OTA_STATES.map((state) => Type.Literal(state)))),
    ot: Type.Optional(Type.String({ maxLength: 24 })),
    op: Type.Optional(U32),
    oe: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);

export const WillSchema = Type.Object(
  {
    v: EnvelopeFields.v,
    d: Id,
    b: U32,
    o: Type.Literal(false),
  },
  { additionalProperties: false },
);

// The config's ranges come from the one field table (../config-fields.ts); the rules between fields
// (h <= window, tw < ta, bm with bs, the tombstone alone) are checked by checkDeviceConfig after
// this schema (validate.ts), the same function the device runs.
const int = (key: "cv" | "r" | "w" | "h" | "tw" | "ta" | "tn" | "hb" | "lw") => Type.Integer({ minimum: CONFIG_FIELDS[key].min, maximum: CONFIG_FIELDS[key].max });
export const DeviceConfigSchema = Type.Object(
  {
    v: Type.Literal(PAYLOAD_VERSION),
    cv: int("cv"),
    r: Type.Optional(int("r")),
    g: Type.Optional(Type.Union([Type.Literal(2), Type.Literal(4), Type.Literal(8), Type.Literal(16)])),
    w: Type.Optional(int("w")),
    h: Type.Optional(int("h")),
    mc: Type.Optional(Type.Union(MACHINE_CLASSES.map((c) => Type.Literal(c)))),
    tw: Type.Optional(int("tw")),
    ta: Type.Optional(int("ta")),
    tn: Type.Optional(int("tn")),
    hb: Type.Optional(int("hb")),
    bm: Type.Optional(Type.Array(Type.Number(), { maxItems: CONFIG_FIELDS.bm.maxItems })),
    bs: Type.Optional(Type.Array(Type.Number({ minimum: CONFIG_FIELDS.bs.min }), { maxItems: CONFIG_FIELDS.bs.maxItems })),
    lw: Type.Optional(int("lw")),
    reset: Type.Optional(Type.Literal(true)),
  },
  { additionalProperties: false },
);

// Compile-time ties between schemas and the plain types the firmware uses.
// Mutual assignability: each type fits the other (strict identity trips over TypeBox intersections).
type Equals<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
export type SchemaTypeTies = [
  Assert<Equals<Static<typeof TelemetrySchema>, Telemetry>>,
  Assert<Equals<Static<typeof AlertSchema>, Alert>>,
  Assert<Equals<Static<typeof StatusSchema>, Status>>,
  Assert<Equals<Static<typeof WillSchema>, Will>>,
  Assert<Equals<Static<typeof DeviceConfigSchema>, DeviceConfig>>,
];

export const DeviceMessageSchemas: Record<"tele" | "alert" | "status" | "will" | "cfg", TSchema> = {
  tele: TelemetrySchema,
  alert: AlertSchema,
  status: StatusSchema,
  will: WillSchema,
  cfg: DeviceConfigSchema,
};
