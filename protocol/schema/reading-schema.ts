// Runtime schema of a southbound reading (record kind "read"), tied to ../readings.ts at compile
// time. The rules a schema cannot say (reserved names, one name in two field maps, at least one
// field) are checked by checkReadingRules() in validate.ts.
import { Type, type Static } from "@sinclair/typebox";
import { ID_MAX_LENGTH, ID_PATTERN } from "../topics.js";
import { PAYLOAD_VERSION } from "../limits.js";
import { MAX_READING_FIELDS, MAX_READING_TAGS, MAX_TAG_VALUE_LENGTH, READING_NAME_PATTERN, type Reading } from "../readings.js";

const U32 = Type.Integer({ minimum: 0, maximum: 4294967295 });
const Name = Type.String({ pattern: READING_NAME_PATTERN.source });
// printable, no backslash (line protocol cannot end a tag value with one), no control characters
const TagValue = Type.String({ pattern: `^[^\\\\\\u0000-\\u001f]{1,${MAX_TAG_VALUE_LENGTH}}$` });

export const ReadingSchema = Type.Object(
  {
    v: Type.Literal(PAYLOAD_VERSION),
    d: Type.String({ pattern: ID_PATTERN.source, maxLength: ID_MAX_LENGTH }),
    b: U32,
    s: U32,
    // µs since epoch: 2001..2100
    t: Type.Integer({ minimum: 1e15, maximum: 4.1e15 }),
    x: U32,
    m: Name,
    g: Type.Optional(Type.Record(Name, TagValue, { maxProperties: MAX_READING_TAGS, additionalProperties: false })),
    f: Type.Optional(Type.Record(Name, Type.Number(), { maxProperties: MAX_READING_FIELDS, additionalProperties: false })),
    i: Type.Optional(Type.Record(Name, Type.Integer({ minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER }), { maxProperties: MAX_READING_FIELDS, additionalProperties: false })),
    o: Type.Optional(Type.Record(Name, Type.Boolean(), { maxProperties: MAX_READING_FIELDS, additionalProperties: false })),
  },
  { additionalProperties: false },
);

type Equals<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
export type ReadingTypeTies = [Assert<Equals<Static<typeof ReadingSchema>, Reading>>];
