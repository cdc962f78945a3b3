// The fleet service's configuration (`vibewatch fleet --config F`): one TypeBox schema for the file;
// cloud/fleet/sample-config.yaml is the documented example, validated by a test with this schema.
import { Type, type Static } from "@sinclair/typebox";
import { ID_PATTERN } from "../../protocol/topics.js";

const Id = Type.String({ pattern: ID_PATTERN.source });
/** cloud/auth/token-hash.ts: "scrypt:<salt>:<hash>" or "sha256:<salt>:<hash>" */
const TokenHash = Type.String({ pattern: "^(sha256|scrypt):[0-9a-f]{16,}:[0-9a-f]{64}$" });

export const FleetConfigSchema = Type.Object(
  {
    listen: Type.Object(
      { host: Type.String({ default: "127.0.0.1" }), port: Type.Integer({ minimum: 0, maximum: 65535, default: 8490 }) },
      { additionalProperties: false, default: {} },
    ),
    /** absent: SQLite in vibewatch-fleet.sqlite (the embedded default) */
    storage: Type.Union(
      [
        // no defaults inside the union's members: TypeBox's Value.Default would write one member's
        // default into the other's object (path into a postgres storage), which then fails the check
        Type.Object({ type: Type.Literal("sqlite"), path: Type.Optional(Type.String({ minLength: 1 })) }, { additionalProperties: false }),
        Type.Object({ type: Type.Literal("postgres"), url: Type.String({ minLength: 1 }), maxConnections: Type.Optional(Type.Integer({ minimum: 1 })) }, { additionalProperties: false }),
      ],
      { default: { type: "sqlite" } },
    ),
    /** people and tools: "read" lists, "operate" also changes configuration */
    operators: Type.Array(Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }), role: Type.Union([Type.Literal("read"), Type.Literal("operate")]), tokenHash: TokenHash }, { additionalProperties: false }), { default: [] }),
    /** site gateways: each syncs its own site only (reports in, desired configuration out) */
    gateways: Type.Array(Type.Object({ id: Id, site: Id, tokenHash: TokenHash }, { additionalProperties: false }), { default: [] }),
    /** the release-signing public key (PEM, `vibewatch pki release-key`): releases are checked against it on publish; unset: no releases */
    releasePublicKeyFile: Type.Optional(Type.String({ minLength: 1 })),
    /** how often active rollouts take a step (read the inventory, advance waves, judge soaks), ms */
    rolloutTickMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 5000 }),
    /** a device not reported for this long counts as offline in listings and drift */
    offlineAfterS: Type.Integer({ minimum: 1, default: 300 }),
    logLevel: Type.Union([Type.Literal("fatal"), Type.Literal("error"), Type.Literal("warn"), Type.Literal("info"), Type.Literal("debug")], { default: "info" }),
  },
  { additionalProperties: false },
);

export type FleetConfig = Static<typeof FleetConfigSchema>;
