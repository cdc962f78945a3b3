// The gateway's configuration: one TypeBox schema for the YAML/JSON file, the environment
// overrides (VW_GATEWAY_*) and the sample config; the code behind it is typed from it.
// Defaults live here so the sample config, the README and the code cannot disagree.
import { Type, type Static } from "@sinclair/typebox";
import { ID_MAX_LENGTH, ID_PATTERN } from "../../protocol/topics.js";
import { DEFAULT_QUARANTINE_BREAKER_REFUSALS } from "../sinks/quarantine-breaker.js";
import { DEFAULT_MAX_DEVICES } from "../alerts/heartbeat-monitor.js";
import { SourcesConfigSchema } from "../sources/southbound/sources-config.js";

const Id = Type.String({ pattern: ID_PATTERN.source, maxLength: ID_MAX_LENGTH, description: "[a-z0-9-], 1..24 characters" });
const PositiveInt = (defaultValue: number, description: string, maximum = Number.MAX_SAFE_INTEGER) =>
  Type.Integer({ minimum: 1, maximum, default: defaultValue, description });
const Path = (description: string) => Type.Optional(Type.String({ minLength: 1, description }));

export const MqttConfigSchema = Type.Object(
  {
    url: Type.String({ pattern: "^(mqtt|mqtts|tcp|tls)://", default: "mqtt://127.0.0.1:1883", description: "broker URL" }),
    clientId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: "fixed client id of the persistent session (default vw-gw-<gatewayId>)" })),
    sites: Type.Array(Type.Union([Id, Type.Literal("+")]), { minItems: 1, default: ["+"], description: "sites to subscribe to; \"+\" for all" }),
    username: Type.Optional(Type.String({ minLength: 1 })),
    passwordFile: Path("file holding the MQTT password"),
    caFile: Path("CA certificate (PEM) that signed the broker's certificate"),
    certFile: Path("client certificate (PEM)"),
    keyFile: Path("client key (PEM)"),
    keepaliveS: PositiveInt(30, "MQTT keepalive, s", 3600),
    reconnectMs: PositiveInt(1000, "first delay between reconnect attempts, ms (doubles up to reconnectMaxMs)", 60_000),
    reconnectMaxMs: PositiveInt(30_000, "longest delay between reconnect attempts, ms", 600_000),
    sessionExpiryS: PositiveInt(4294967295, "MQTT 5 session expiry interval, s: how long the broker keeps the session (and queues QoS 1 messages) while the gateway is away; 4294967295 = never", 4294967295),
    receiveMaximum: PositiveInt(5000, "MQTT 5 receive maximum: unacknowledged QoS 1 messages the broker may have in flight to the gateway", 65535),
    shareGroup: Type.Optional(
      Type.String({ pattern: "^[^/+#$]{1,64}$", description: "subscribe as $share/<shareGroup>/... (MQTT 5 shared subscription: gateways of one group split the site's messages); unset: not shared" }),
    ),
  },
  { additionalProperties: false, default: {} },
);

export const BufferConfigSchema = Type.Object(
  {
    path: Type.String({ minLength: 1, default: "./vibewatch-gateway.db", description: "SQLite file of the durable buffer" }),
    maxBytes: PositiveInt(512 * 1024 * 1024, "payload bytes kept; beyond, the oldest telemetry is dropped (alerts never)"),
    maxAgeS: PositiveInt(7 * 24 * 3600, "telemetry older than this is dropped (alerts never)"),
    synchronous: Type.Union([Type.Literal("FULL"), Type.Literal("NORMAL")], { default: "FULL", description: "SQLite synchronous mode (FULL survives power cuts)" }),
    commitIntervalMs: PositiveInt(5, "group commit: longest wait of a message before its commit, ms", 1000),
    commitMaxMessages: PositiveInt(1000, "group commit: messages per transaction at most", 100_000),
    dedupeMaxEntries: PositiveInt(1_000_000, "(device, boot, seq) keys remembered against QoS 1 redelivery"),
    dedupeMaxAgeS: PositiveInt(24 * 3600, "how long a (device, boot, seq) key is remembered"),
    quarantineMaxRecords: PositiveInt(10_000, "quarantined messages kept; the oldest is evicted beyond"),
  },
  { additionalProperties: false, default: {} },
);

export const SinkConfigSchema = Type.Object(
  {
    url: Type.String({ pattern: "^https?://", default: "http://127.0.0.1:8080/v1/batches", description: "ingest endpoint (POST)" }),
    tokenFile: Path("file holding the bearer token (or set VW_GATEWAY_SINK_TOKEN)"),
    caFile: Path("CA certificate (PEM) the ingest server's certificate must chain to (pinned)"),
    certFile: Path("client certificate (PEM) for an ingest service that requires mTLS (the gateway's own, from vibewatch pki)"),
    keyFile: Path("client key (PEM) matching sink.certFile"),
    batchMaxRecords: PositiveInt(1000, "records per batch", 5000),
    batchMaxBytes: PositiveInt(512 * 1024, "payload bytes per batch"),
    batchMaxAgeMs: PositiveInt(200, "longest wait for a batch to fill, ms", 60_000),
    gzipMinBytes: PositiveInt(4096, "bodies from this size on are gzipped"),
    maxInFlight: PositiveInt(4, "batches in flight at once", 64),
    timeoutMs: PositiveInt(10_000, "request timeout, ms"),
    backoffBaseMs: PositiveInt(200, "first retry delay bound, ms"),
    backoffMaxMs: PositiveInt(30_000, "largest retry delay bound, ms"),
    // optional (absent from the sample config); the default still applies when the file is loaded
    quarantineBreakerRefusals: Type.Optional(
      PositiveInt(DEFAULT_QUARANTINE_BREAKER_REFUSALS, "records the cloud refuses in a row (in replies refusing more than they store) before the sink stops quarantining and keeps them buffered"),
    ),
  },
  { additionalProperties: false, default: {} },
);

export const LimitsConfigSchema = Type.Object(
  {
    ratePerS: PositiveInt(50, "messages per second per device, sustained"),
    burst: PositiveInt(200, "messages per device in a burst"),
    maxDevices: PositiveInt(
      DEFAULT_MAX_DEVICES,
      "devices tracked for presence (online/offline events, devices online) at most; a device beyond is not tracked (counted), its messages are stored and forwarded all the same",
      1_000_000,
    ),
  },
  { additionalProperties: false, default: {} },
);

export const HeartbeatConfigSchema = Type.Object(
  {
    intervalS: PositiveInt(60, "expected status interval of a device, s"),
    missed: PositiveInt(3, "missed intervals before a device is marked offline", 1000),
    checkMs: PositiveInt(1000, "how often the offline check runs, ms"),
  },
  { additionalProperties: false, default: {} },
);

export const HttpConfigSchema = Type.Object(
  {
    host: Type.String({ minLength: 1, default: "127.0.0.1" }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 9464, description: "0 picks a free port" }),
  },
  { additionalProperties: false, default: {} },
);

/** OTA distribution (issue 15, gateway/ota/): off unless ota.releasePublicKeyFile is set. */
export const OtaConfigSchema = Type.Object(
  {
    releasePublicKeyFile: Path("the site's release-signing public key (PEM, `vibewatch pki release-key`); unset: OTA distribution off"),
    storeDir: Path("folder of the release store (default: \"ota-releases\" beside buffer.path)"),
    offerTokenFile: Path("bearer token required for POST /ota/offer and /ota/withdraw; unset: loopback callers only"),
    chunkBytes: PositiveInt(512, "image bytes per chunk reply (the offer's cs), at most 1024", 1024),
    maxConcurrentDownloads: PositiveInt(4, "devices of the site downloading at once; the others are told to retry later", 100_000),
    slotIdleTimeoutMs: PositiveInt(30_000, "a download slot whose device stopped asking is freed after this, ms"),
    deviceBytesPerS: PositiveInt(32 * 1024, "a device's sustained download rate, bytes/s"),
    deviceBurstBytes: PositiveInt(4096, "bytes a device may have in flight at once (at least chunkBytes)"),
    busyRetryMs: PositiveInt(2000, "retry delay told to a device while every slot is taken, ms (plus up to half as jitter)", 600_000),
    maxStoredReleases: PositiveInt(8, "releases kept in the store; one more is refused until one is removed", 1000),
    maxImageBytes: PositiveInt(16 * 1024 * 1024, "largest image accepted, bytes", 16 * 1024 * 1024),
    fetchTimeoutMs: PositiveInt(60_000, "time limit of each GET of a release from a URL, ms"),
  },
  { additionalProperties: false, default: {} },
);

/** The fleet service (issue 16, gateway/fleet/): off unless fleet.url is set. */
export const FleetSyncConfigSchema = Type.Object(
  {
    url: Type.Optional(Type.String({ pattern: "^https?://", description: "the fleet service (cloud/fleet); unset: no sync" })),
    tokenFile: Path("file holding this gateway's fleet token (gateways[] of the fleet config)"),
    syncIntervalMs: PositiveInt(30_000, "how often device reports go up and desired configs come down, ms", 3_600_000),
  },
  { additionalProperties: false, default: {} },
);

export const GatewayConfigSchema = Type.Object(
  {
    gatewayId: Id,
    site: Id,
    mqtt: MqttConfigSchema,
    buffer: BufferConfigSchema,
    sink: SinkConfigSchema,
    limits: LimitsConfigSchema,
    heartbeat: HeartbeatConfigSchema,
    http: HttpConfigSchema,
    ota: OtaConfigSchema,
    fleet: FleetSyncConfigSchema,
    logLevel: Type.Union(["fatal", "error", "warn", "info", "debug", "trace", "silent"].map((level) => Type.Literal(level)), { default: "info" }),
    statusIntervalS: PositiveInt(60, "how often the gateway sends its own status record (kind gw), s"),
    sources: SourcesConfigSchema,
  },
  { additionalProperties: false },
);

export type GatewayConfig = Static<typeof GatewayConfigSchema>;
export type BufferConfig = Static<typeof BufferConfigSchema>;
export type SinkConfig = Static<typeof SinkConfigSchema>;
export type OtaConfig = Static<typeof OtaConfigSchema>;
