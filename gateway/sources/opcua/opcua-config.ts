// Config of one OPC UA source: the endpoint, security and identity, the subscription and the
// nodes it monitors. Part of the gateway's one config schema (`sources`).
import { Type, type Static } from "@sinclair/typebox";
import { ReadingNameSchema, SourceNameSchema, SourceTagsSchema, type WithDefaults } from "../southbound/source-config.js";

export const OpcuaNodeSchema = Type.Object(
  {
    nodeId: Type.String({ minLength: 1, maxLength: 256, description: "node id, e.g. ns=1;s=Motor.Current" }),
    field: ReadingNameSchema,
    output: Type.Optional(Type.Union([Type.Literal("float"), Type.Literal("int"), Type.Literal("bool")], { default: "float", description: "InfluxDB field type" })),
    scale: Type.Optional(Type.Number({ default: 1, description: "value = raw * scale + offset (numbers)" })),
    offset: Type.Optional(Type.Number({ default: 0 })),
  },
  { additionalProperties: false },
);

export const OpcuaSourceSchema = Type.Object(
  {
    type: Type.Literal("opcua"),
    name: SourceNameSchema,
    endpointUrl: Type.String({ pattern: "^opc\\.tcp://", description: "opc.tcp://host:4840/path" }),
    securityMode: Type.Optional(Type.Union([Type.Literal("None"), Type.Literal("Sign"), Type.Literal("SignAndEncrypt")], { default: "None" })),
    securityPolicy: Type.Optional(Type.Union(
      [Type.Literal("None"), Type.Literal("Basic256Sha256"), Type.Literal("Aes128_Sha256_RsaOaep"), Type.Literal("Aes256_Sha256_RsaPss")],
      { default: "None" },
    )),
    username: Type.Optional(Type.String({ minLength: 1, description: "user name identity (with passwordFile)" })),
    passwordFile: Type.Optional(Type.String({ minLength: 1, description: "file holding the OPC UA user's password" })),
    userCertificateFile: Type.Optional(Type.String({ minLength: 1, description: "X.509 user identity: certificate (PEM), with userPrivateKeyFile" })),
    userPrivateKeyFile: Type.Optional(Type.String({ minLength: 1 })),
    pkiDir: Type.Optional(Type.String({ minLength: 1, default: "./opcua-pki", description: "the client's own certificate store (created on first start; trust the server's certificate in its trusted/ folder)" })),
    samplingIntervalMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 3_600_000, default: 1000, description: "server-side sampling interval per node; also the unit of gap counting while the subscription is down" })),
    publishingIntervalMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 3_600_000, description: "subscription publishing interval (default: samplingIntervalMs)" })),
    keepAliveCount: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 10, description: "publishing intervals without data before the server sends a keep-alive" })),
    reconnectMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 60_000, default: 500, description: "first delay before rebuilding a lost session (doubles, with jitter)" })),
    reconnectMaxMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 600_000, default: 5000 })),
    measurement: ReadingNameSchema,
    tags: Type.Optional(SourceTagsSchema),
    nodes: Type.Array(OpcuaNodeSchema, { minItems: 1, maxItems: 64 }),
  },
  { additionalProperties: false },
);

export type OpcuaNodeConfig = WithDefaults<Static<typeof OpcuaNodeSchema>, "output" | "scale" | "offset">;
export type OpcuaSourceConfig = WithDefaults<
  Omit<Static<typeof OpcuaSourceSchema>, "nodes">,
  "securityMode" | "securityPolicy" | "pkiDir" | "samplingIntervalMs" | "keepAliveCount" | "reconnectMs" | "reconnectMaxMs"
> & { nodes: OpcuaNodeConfig[] };
