// The ingest service's configuration: one TypeBox schema for the config file (YAML or JSON) and
// the VW_INGEST_* environment overrides (see ./load.ts). cloud/config/sample-config.yaml is the
// documented example; a test validates it with this schema.
import { Type, type Static } from "@sinclair/typebox";
import { ID_PATTERN } from "../../protocol/topics.js";

const GatewayId = Type.String({ pattern: ID_PATTERN.source });

export const InfluxV1StorageSchema = Type.Object(
  {
    type: Type.Literal("influx-v1"),
    url: Type.String({ minLength: 1 }),
    database: Type.String({ minLength: 1 }),
    retentionPolicy: Type.Optional(Type.String({ minLength: 1 })),
    username: Type.Optional(Type.String()),
    password: Type.Optional(Type.String()),
    timeoutMs: Type.Integer({ minimum: 100, default: 10_000 }),
    gzipThresholdBytes: Type.Integer({ minimum: 0, default: 64 * 1024 }),
    maxLinesPerWrite: Type.Integer({ minimum: 1, maximum: 5000, default: 5000 }),
    /** create the database when InfluxDB says it does not exist (needs admin rights; Telegraf's skip_database_creation, inverted) */
    createDatabase: Type.Boolean({ default: true }),
  },
  { additionalProperties: false },
);

export const InfluxV2StorageSchema = Type.Object(
  {
    type: Type.Literal("influx-v2"),
    url: Type.String({ minLength: 1 }),
    token: Type.String({ minLength: 1 }),
    org: Type.String({ minLength: 1 }),
    bucket: Type.String({ minLength: 1 }),
    timeoutMs: Type.Integer({ minimum: 100, default: 10_000 }),
    gzipThresholdBytes: Type.Integer({ minimum: 0, default: 64 * 1024 }),
    maxLinesPerWrite: Type.Integer({ minimum: 1, maximum: 5000, default: 5000 }),
  },
  { additionalProperties: false },
);

export const EmbeddedStorageSchema = Type.Object(
  {
    type: Type.Literal("embedded"),
    /** SQLite file */
    path: Type.String({ minLength: 1, default: "vibewatch-ingest.sqlite" }),
  },
  { additionalProperties: false },
);

export const StorageSchema = Type.Union([InfluxV1StorageSchema, InfluxV2StorageSchema, EmbeddedStorageSchema]);

export const GatewayEntrySchema = Type.Object(
  {
    id: GatewayId,
    /** "sha256:<salt hex>:<hash hex>" or "scrypt:<salt hex>:<hash hex>" (cloud/auth/token-hash.ts) */
    tokenHash: Type.String({ pattern: "^(sha256|scrypt):[0-9a-f]{16,}:[0-9a-f]{64}$" }),
  },
  { additionalProperties: false },
);

export const IngestConfigSchema = Type.Object(
  {
    listen: Type.Object(
      {
        host: Type.String({ default: "127.0.0.1" }),
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 8480 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** largest request body, after gzip inflation; beyond -> 413 */
    bodyLimitBytes: Type.Integer({ minimum: 1024, default: 8 * 1024 * 1024 }),
    gateways: Type.Array(GatewayEntrySchema, { default: [] }),
    /** absent: the embedded store */
    storage: Type.Optional(StorageSchema),
    connections: Type.Object(
      {
        /** the whole request (headers and body) must arrive within this; beyond -> 408 and the connection closed. 0 = off */
        requestTimeoutMs: Type.Integer({ minimum: 0, default: 60_000 }),
        /** the request line and headers must arrive within this (at most requestTimeoutMs); beyond -> 408 */
        headersTimeoutMs: Type.Integer({ minimum: 0, default: 10_000 }),
        /** a socket with no bytes either way for this long is destroyed. 0 = off */
        idleTimeoutMs: Type.Integer({ minimum: 0, default: 120_000 }),
        /** how long an idle keep-alive connection stays open between requests */
        keepAliveTimeoutMs: Type.Integer({ minimum: 1, default: 72_000 }),
        /** open connections at most; one more is closed at accept (counted). 0 = no cap */
        maxConnections: Type.Integer({ minimum: 0, default: 1024 }),
      },
      { additionalProperties: false, default: {} },
    ),
    unauthenticated: Type.Object(
      {
        /** per remote address: requests with a missing or bad token per window; beyond -> 429 with Retry-After. 0 = no limit */
        maxRequests: Type.Integer({ minimum: 0, default: 30 }),
        windowMs: Type.Integer({ minimum: 100, default: 60_000 }),
        /** addresses remembered at most (least recently seen forgotten first, counted in metrics) */
        maxAddresses: Type.Integer({ minimum: 1, default: 10_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    rateLimit: Type.Object(
      {
        /** batches per gateway per window; beyond -> 429 with Retry-After */
        maxBatches: Type.Integer({ minimum: 1, default: 600 }),
        windowMs: Type.Integer({ minimum: 100, default: 60_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    writes: Type.Object(
      {
        /** storage writes in flight at once */
        maxConcurrent: Type.Integer({ minimum: 1, default: 8 }),
        /** requests waiting for a write slot; beyond -> 503 with Retry-After */
        maxQueued: Type.Integer({ minimum: 0, default: 64 }),
        /** Retry-After sent with 503s, s */
        retryAfterS: Type.Integer({ minimum: 1, default: 5 }),
      },
      { additionalProperties: false, default: {} },
    ),
    pressure: Type.Object(
      {
        /** 0 disables a check */
        maxEventLoopDelayMs: Type.Integer({ minimum: 0, default: 1000 }),
        maxHeapUsedBytes: Type.Integer({ minimum: 0, default: 0 }),
        maxRssBytes: Type.Integer({ minimum: 0, default: 0 }),
      },
      { additionalProperties: false, default: {} },
    ),
    tls: Type.Optional(
      Type.Object(
        {
          certFile: Type.String({ minLength: 1 }),
          keyFile: Type.String({ minLength: 1 }),
          /** CA that signs client certificates (mTLS) */
          caFile: Type.Optional(Type.String({ minLength: 1 })),
          /** certificate revocation list (PEM) checked against client certificates */
          crlFile: Type.Optional(Type.String({ minLength: 1 })),
          requireClientCert: Type.Boolean({ default: false }),
        },
        { additionalProperties: false },
      ),
    ),
    shutdown: Type.Object(
      {
        /** how long close() waits for in-flight writes */
        drainTimeoutMs: Type.Integer({ minimum: 0, default: 15_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    log: Type.Object(
      {
        level: Type.Union(["fatal", "error", "warn", "info", "debug", "trace", "silent"].map((l) => Type.Literal(l)), { default: "info" }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export type IngestConfig = Static<typeof IngestConfigSchema>;
export type StorageConfig = Static<typeof StorageSchema>;
export type GatewayEntry = Static<typeof GatewayEntrySchema>;
