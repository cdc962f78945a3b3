// Config of one JSON-over-MQTT source: the broker session, and the mappings from third-party
// topics and JSON paths to a measurement, tags and typed fields. Part of the gateway's one config
// schema (`sources`).
import { Type, type Static } from "@sinclair/typebox";
import { ReadingNameSchema, SourceNameSchema, SourceTagsSchema, type WithDefaults } from "../southbound/source-config.js";
import { READING_NAME_PATTERN } from "../../../protocol/readings.js";

const JsonPath = Type.String({ pattern: "^\\$(\\.[A-Za-z_][A-Za-z0-9_-]*|\\[[0-9]+\\])*$", description: "$ (the whole payload), $.a.b, $.list[0].c" });

export const JsonFieldSchema = Type.Object(
  {
    field: ReadingNameSchema,
    path: JsonPath,
    type: Type.Optional(Type.Union([Type.Literal("float"), Type.Literal("int"), Type.Literal("bool")], { default: "float", description: "InfluxDB field type; a JSON value of another type quarantines the message" })),
    required: Type.Optional(Type.Boolean({ default: true, description: "a message without this path is quarantined (false: the field is left out)" })),
    scale: Type.Optional(Type.Number({ default: 1 })),
    offset: Type.Optional(Type.Number({ default: 0 })),
  },
  { additionalProperties: false },
);

export const JsonMappingSchema = Type.Object(
  {
    topic: Type.String({ minLength: 1, maxLength: 256, description: "MQTT filter (+ and # allowed), outside vw/v1: factory/+/temp" }),
    measurement: ReadingNameSchema,
    tags: Type.Optional(SourceTagsSchema),
    topicTags: Type.Optional(
      Type.Record(Type.String({ pattern: READING_NAME_PATTERN.source }), Type.Integer({ minimum: 0, maximum: 31 }), { maxProperties: 8, description: "tag from a topic level (0-based): {machine: 1} for factory/machine1/temp" }),
    ),
    fields: Type.Array(JsonFieldSchema, { minItems: 1, maxItems: 64 }),
    time: Type.Optional(
      Type.Object(
        {
          path: JsonPath,
          unit: Type.Optional(Type.Union([Type.Literal("s"), Type.Literal("ms"), Type.Literal("us"), Type.Literal("iso")], { default: "s", description: "epoch seconds/ms/µs, or an ISO 8601 string" })),
        },
        { additionalProperties: false, description: "reading time from the payload; absent: the arrival time" },
      ),
    ),
  },
  { additionalProperties: false },
);

export const JsonMqttSourceSchema = Type.Object(
  {
    type: Type.Literal("json-mqtt"),
    name: SourceNameSchema,
    url: Type.Optional(Type.String({ pattern: "^(mqtt|mqtts|tcp|tls)://", description: "broker URL (default: the gateway's mqtt.url)" })),
    clientId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: "fixed client id of this source's persistent session (default vw-gw-<gatewayId>-<name>)" })),
    username: Type.Optional(Type.String({ minLength: 1 })),
    passwordFile: Type.Optional(Type.String({ minLength: 1 })),
    ratePerS: Type.Optional(Type.Integer({ minimum: 1, default: 50, description: "messages per second, sustained, for this source; beyond, messages are dropped and counted as gaps" })),
    burst: Type.Optional(Type.Integer({ minimum: 1, default: 200 })),
    maxMessageBytes: Type.Optional(Type.Integer({ minimum: 16, maximum: 1_048_576, default: 16_384, description: "larger messages are quarantined (VW_OVERSIZE)" })),
    mappings: Type.Array(JsonMappingSchema, { minItems: 1, maxItems: 64 }),
  },
  { additionalProperties: false },
);

export type JsonFieldConfig = WithDefaults<Static<typeof JsonFieldSchema>, "type" | "required" | "scale" | "offset">;
type RawMapping = Static<typeof JsonMappingSchema>;
export type JsonMappingConfig = Omit<RawMapping, "fields" | "time"> & {
  fields: JsonFieldConfig[];
  time?: WithDefaults<NonNullable<RawMapping["time"]>, "unit">;
};
export type JsonMqttSourceConfig = WithDefaults<Omit<Static<typeof JsonMqttSourceSchema>, "mappings">, "ratePerS" | "burst" | "maxMessageBytes"> & { mappings: JsonMappingConfig[] };
