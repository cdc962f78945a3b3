// The gateway, composed: MQTT source -> intake (validate, limit, presence) -> durable buffer ->
// HTTP sink, plus local alerts/events, /metrics and /healthz. start() and stop() only; the CLI
// (cli/commands/gateway.ts) adds the config file and the signals.
import type { Logger } from "pino";
import type { GatewayConfig } from "./config/config-schema.js";
import { SqliteBuffer } from "./buffer/sqlite-buffer.js";
import { GatewayMetrics } from "./metrics.js";
import { MqttSource } from "./sources/mqtt-source.js";
import { HttpPoster } from "./sinks/http-post.js";
import { HttpSink } from "./sinks/http-sink.js";
import { DeviceRateLimiter } from "./limits/token-bucket.js";
import { HeartbeatMonitor } from "./alerts/heartbeat-monitor.js";
import { LocalPublisher } from "./alerts/local-publisher.js";
import { FleetSync, type FleetSyncOptions } from "./fleet/fleet-sync.js";
import { Intake } from "./intake.js";
import { OpsServer, type HealthReport } from "./http-server.js";
import { createLogger } from "./logger.js";
import { PAYLOAD_VERSION } from "../protocol/limits.js";
import { cborEncoder } from "../protocol/schema/validate.js";
import type { GatewayStatus } from "../protocol/batch.js";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { OtaDistributor } from "./ota/ota-distributor.js";
import { otaRoutes } from "./ota/ota-http.js";
import { createSources } from "./sources/southbound/create-sources.js";
import type { SouthboundSource } from "./sources/southbound/southbound-source.js";
import { JsonMqttSource } from "./sources/json-mqtt/json-mqtt-source.js";
import type { JsonMapper } from "./sources/json-mqtt/json-mapping.js";
import { anyRoute, quarantineRoutes } from "./sources/southbound/quarantine-replay.js";
import type { NewRecord, QuarantineEntry } from "./buffer/record-buffer.js";

export interface GatewayStartOptions {
  /** bearer token for the ingest service (from the token file or the environment, never argv) */
  token?: string;
  log?: Logger;
  /** process metrics (CPU, heap) in /metrics; off in tests running several gateways */
  processMetrics?: boolean;
  /** ends the wait for the broker at start-up (a stop requested while starting) */
  signal?: AbortSignal;
}

/** How often buffer bounds by age are enforced. */
const EXPIRE_EVERY_MS = 10_000;

export class Gateway {
  readonly metrics: GatewayMetrics;
  readonly buffer: SqliteBuffer;
  readonly source: MqttSource;
  readonly sink: HttpSink;
  readonly log: Logger;
  /** southbound sources (gateway/sources/modbus, opcua, json-mqtt), from config.sources */
  readonly sources: SouthboundSource[];
  httpPort = 0;
  /** the OTA distributor (gateway/ota/), when ota.releasePublicKeyFile is set */
  ota: OtaDistributor | undefined;
  /** the link to the fleet service (fleet.url set), else undefined */
  fleet: FleetSync | undefined;
  #intake: Intake;
  #ops: OpsServer;
  #timers: NodeJS.Timeout[] = [];
  #startedMs = Date.now();
  #droppedTotal = 0;
  #presence: HeartbeatMonitor;
  #limiter: DeviceRateLimiter;
  #stopped = false;

  private constructor(readonly config: GatewayConfig, options: GatewayStartOptions) {
    this.log = options.log ?? createLogger(config.logLevel);
    this.metrics = new GatewayMetrics(options.processMetrics ?? true);
    this.buffer = new SqliteBuffer({
      path: config.buffer.path,
      maxBytes: config.buffer.maxBytes,
      maxAgeS: config.buffer.maxAgeS,
      synchronous: config.buffer.synchronous,
      dedupeMaxEntries: config.buffer.dedupeMaxEntries,
      dedupeMaxAgeS: config.buffer.dedupeMaxAgeS,
      quarantineMaxRecords: config.buffer.quarantineMaxRecords,
      hooks: {
        dropped: (reason, kind, count) => {
          this.#droppedTotal += count;
          this.metrics.dropped.inc({ reason, kind }, count);
          this.log.warn({ reason, kind, count }, "buffer bound: records dropped");
        },
      },
    });
    const poster = new HttpPoster({
      url: config.sink.url,
      ...(options.token ? { token: options.token } : {}),
      ...(config.sink.caFile ? { caFile: config.sink.caFile } : {}),
      ...(config.sink.certFile ? { certFile: config.sink.certFile } : {}),
      ...(config.sink.keyFile ? { keyFile: config.sink.keyFile } : {}),
      timeoutMs: config.sink.timeoutMs,
      gzipMinBytes: config.sink.gzipMinBytes,
      maxInFlight: config.sink.maxInFlight,
    });
    this.sink = new HttpSink(this.buffer, poster, { gateway: config.gatewayId, site: config.site, ...config.sink }, this.metrics, this.log.child({ part: "sink" }));
    this.#presence = new HeartbeatMonitor(config.heartbeat.intervalS, config.heartbeat.missed, undefined, config.limits.maxDevices);
    this.#limiter = new DeviceRateLimiter(config.limits.ratePerS, config.limits.burst);
    // the source is created below; local publishes happen only once messages flow through it
    const local = new LocalPublisher(config.site, config.gatewayId, { publish: (topic, payload) => this.source.publish(topic, payload) });
    this.#intake = new Intake(
      this.buffer, this.#limiter, this.#presence, local, this.metrics, this.log.child({ part: "intake" }), () => this.sink.nudge(),
      config.fleet.url ? (device, anomalyCenti) => this.fleet?.observeTelemetry(device, anomalyCenti) : undefined,
    );
    this.sources = createSources({ config, metrics: this.metrics, log: this.log.child({ part: "sources" }), store: (records, quarantine) => this.#storeSourceRecords(records, quarantine) });
    const { mqtt } = config;
    this.source = new MqttSource(
      {
        url: mqtt.url,
        clientId: mqtt.clientId ?? `vw-gw-${config.gatewayId}`,
        sites: mqtt.sites,
        keepaliveS: mqtt.keepaliveS,
        reconnectMs: mqtt.reconnectMs,
        reconnectMaxMs: mqtt.reconnectMaxMs,
        sessionExpiryS: mqtt.sessionExpiryS,
        receiveMaximum: mqtt.receiveMaximum,
        ...(mqtt.shareGroup ? { shareGroup: mqtt.shareGroup } : {}),
        onReceiveMaximumExceeded: () => this.metrics.mqttReceiveMaximumExceeded.inc(),
        commitIntervalMs: config.buffer.commitIntervalMs,
        commitMaxMessages: config.buffer.commitMaxMessages,
        ...(mqtt.username ? { username: mqtt.username } : {}),
        ...(mqtt.passwordFile ? { passwordFile: mqtt.passwordFile } : {}),
        ...(mqtt.caFile ? { caFile: mqtt.caFile } : {}),
        ...(mqtt.certFile ? { certFile: mqtt.certFile } : {}),
        ...(mqtt.keyFile ? { keyFile: mqtt.keyFile } : {}),
      },
      (messages) => this.#intake.commit(messages),
      this.log.child({ part: "mqtt" }),
    );
    this.#ops = new OpsServer({
      metrics: async () => {
        this.#refreshGauges();
        return await this.metrics.text();
      },
      contentType: this.metrics.registry.contentType,
      health: () => this.#health(),
      routes: anyRoute(
        otaRoutes(() => this.ota, config.site, {
        maxImageBytes: config.ota.maxImageBytes,
        ...(config.ota.offerTokenFile ? { token: readFileSync(config.ota.offerTokenFile, "utf8").trim() } : {}),
      }),
        quarantineRoutes(config.buffer.path, () => this.#jsonMappers(), (records) => this.#storeSourceRecords(records)),
      ),
    });
  }

  static async start(config: GatewayConfig, options: GatewayStartOptions = {}): Promise<Gateway> {
    const gateway = new Gateway(config, options);
    try {
      gateway.httpPort = await gateway.#ops.listen(config.http.port, config.http.host);
      gateway.sink.start();
      for (const source of gateway.sources) await source.start();
      if (config.ota.releasePublicKeyFile) gateway.ota = await OtaDistributor.start(otaOptions(config, gateway.log, gateway.metrics.registry), 0);
      if (config.fleet.url) {
        const ota = gateway.ota;
        const offer = ota ? async (url: string, devices: string[]) => void (await ota.offer({ release: { url }, devices })) : undefined;
        (gateway.fleet = new FleetSync({ ...fleetOptions(config, gateway.log, gateway.metrics.registry), ...(offer ? { offer } : {}) })).start();
      }
      gateway.#timers.push(setInterval(() => gateway.#tick(), config.heartbeat.checkMs));
      gateway.#timers.push(setInterval(() => gateway.buffer.expire(), EXPIRE_EVERY_MS));
      gateway.#timers.push(setInterval(() => gateway.#status(), config.statusIntervalS * 1000));
      await gateway.source.start(undefined, options.signal);
      const stats = gateway.buffer.stats();
      gateway.log.info({ buffered: stats.records, bufferedBytes: stats.bytes, httpPort: gateway.httpPort }, "gateway started");
    } catch (error) {
      await gateway.stop();
      throw error;
    }
    return gateway;
  }

  #tick(): void {
    try {
      this.#intake.tick();
      this.#refreshGauges();
    } catch (error) {
      this.log.error({ err: error }, "periodic check failed");
    }
  }

  /** /healthz: 200 only while connected and committing; a failing commit (disk full) is named. */
  #health(): HealthReport {
    const commit = this.#intake.commitState;
    return {
      ok: !this.#stopped && this.source.connected && !commit.failing,
      mqttConnected: this.source.connected,
      commitFailing: commit.failing,
      lastCommitError: commit.lastError,
      ...(commit.lastErrorAtMs === null ? {} : { lastCommitErrorAt: new Date(commit.lastErrorAtMs).toISOString() }),
      commitFailures: commit.failures,
      commitBackoff: this.source.commitBackoff,
      bufferRecords: this.buffer.stats().records,
      // informational: a PLC that is down does not make the gateway unhealthy (its gaps are counted)
      sourcesConnected: Object.fromEntries(this.sources.map((source) => [source.stream.context.name, source.connected])),
    };
  }

  /** A southbound source's readings (and quarantined messages) in one buffer transaction; throws when it failed. */
  #storeSourceRecords(records: NewRecord[], quarantine: QuarantineEntry[] = []): void {
    const outcome = this.buffer.append(records, quarantine);
    if (outcome.stored > 0) this.metrics.stored.inc({ kind: "read" }, outcome.stored);
    this.sink.nudge();
  }

  /** The running JSON-over-MQTT sources' mappings, for quarantine replay. */
  #jsonMappers(): Map<string, JsonMapper> {
    return new Map(this.sources.filter((source): source is JsonMqttSource => source instanceof JsonMqttSource).map((source) => [source.config.name, source.mapper]));
  }

  #refreshGauges(): void {
    this.metrics.updateBuffer(this.buffer.stats());
    this.metrics.devicesOnline.set(this.#presence.onlineCount);
    this.metrics.devicesTracked.set(this.#presence.trackedCount);
    this.metrics.syncTotal(this.metrics.untrackedDeviceMessages, this.#presence.untracked);
    this.metrics.syncTotal(this.metrics.forgotten, this.#presence.forgotten, { what: "presence" });
    this.metrics.syncTotal(this.metrics.forgotten, this.#limiter.forgotten, { what: "rate_limit" });
    this.metrics.syncTotal(this.metrics.forgotten, this.buffer.dedupeForgotten, { what: "dedupe" });
    this.metrics.mqttConnected.set(this.source.connected ? 1 : 0);
    this.metrics.mqttUnacked.set(this.source.unacked);
  }

  /** The gateway's own state as a "gw" record, so the cloud sees backlog and drops. */
  #status(): void {
    const stats = this.buffer.stats();
    const clamp = (value: number) => Math.max(0, Math.min(4294967295, Math.round(value)));
    const status: GatewayStatus = {
      v: PAYLOAD_VERSION,
      q: clamp(stats.records),
      qb: Math.max(0, stats.bytes),
      age: clamp(stats.oldestTsUs === null ? 0 : (Date.now() * 1000 - stats.oldestTsUs) / 1e6),
      up: clamp((Date.now() - this.#startedMs) / 1000),
      x: clamp(this.#droppedTotal),
      on: clamp(this.#presence.onlineCount),
    };
    try {
      this.buffer.append([{ kind: "gw", device: this.config.gatewayId, body: cborEncoder.encode(status) as Uint8Array }]);
    } catch (error) {
      this.log.error({ err: error }, "could not store the gateway status");
    }
  }

  /** Graceful stop: stop intake, commit and acknowledge what waits, stop forwarding, close the buffer. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const source of this.sources) await source.stop().catch((error: unknown) => this.log.warn({ err: error }, "source stop"));
    for (const timer of this.#timers) clearInterval(timer);
    await this.source.close().catch((error: unknown) => this.log.warn({ err: error }, "mqtt close"));
    await this.sink.close();
    await this.ota?.stop();
    await this.fleet?.stop();
    await this.#ops.close().catch(() => undefined);
    this.buffer.close();
    this.log.info("gateway stopped");
  }
}

/** The gateway's broker credentials, for the extra connections (OTA distributor, fleet sync) that use them. */
function mqttCredentials(mqtt: GatewayConfig["mqtt"]): { username?: string; password?: string; ca?: Buffer; cert?: Buffer; key?: Buffer } {
  return {
    ...(mqtt.username ? { username: mqtt.username } : {}),
    ...(mqtt.passwordFile ? { password: readFileSync(mqtt.passwordFile, "utf8").trim() } : {}),
    ...(mqtt.caFile ? { ca: readFileSync(mqtt.caFile) } : {}),
    ...(mqtt.certFile ? { cert: readFileSync(mqtt.certFile) } : {}),
    ...(mqtt.keyFile ? { key: readFileSync(mqtt.keyFile) } : {}),
  };
}

/** The fleet sync's options from the gateway config: its own MQTT connection with the gateway's credentials. */
function fleetOptions(config: GatewayConfig, log: Logger, registry: GatewayMetrics["registry"]): FleetSyncOptions {
  const { mqtt, fleet } = config;
  if (!fleet.tokenFile) throw new Error("fleet.url is set but fleet.tokenFile is not: the fleet service needs this gateway's token");
  return {
    site: config.site,
    fleetUrl: fleet.url as string,
    token: readFileSync(fleet.tokenFile, "utf8").trim(),
    syncIntervalMs: fleet.syncIntervalMs,
    maxDevices: config.limits.maxDevices,
    mqttUrl: mqtt.url,
    clientId: `${mqtt.clientId ?? `vw-gw-${config.gatewayId}`}-fleet`,
    mqtt: { reconnectPeriod: mqtt.reconnectMs, ...mqttCredentials(mqtt) },
    registry,
    log: log.child({ part: "fleet" }),
  };
}

/** The distributor's options from the gateway config: its own MQTT connection with the gateway's credentials. */
function otaOptions(config: GatewayConfig, log: Logger, registry: GatewayMetrics["registry"]): Parameters<typeof OtaDistributor.start>[0] {
  const { mqtt, ota } = config;
  return {
    mqttUrl: mqtt.url,
    site: config.site,
    storeDir: ota.storeDir ?? join(dirname(config.buffer.path), "ota-releases"),
    releasePublicKeyPem: readFileSync(ota.releasePublicKeyFile as string, "utf8"),
    clientId: `${mqtt.clientId ?? `vw-gw-${config.gatewayId}`}-ota`,
    limits: {
      chunkBytes: ota.chunkBytes,
      maxConcurrentDownloads: ota.maxConcurrentDownloads,
      slotIdleTimeoutMs: ota.slotIdleTimeoutMs,
      deviceBytesPerS: ota.deviceBytesPerS,
      deviceBurstBytes: ota.deviceBurstBytes,
      busyRetryMs: ota.busyRetryMs,
      maxStoredReleases: ota.maxStoredReleases,
      maxImageBytes: ota.maxImageBytes,
      fetchTimeoutMs: ota.fetchTimeoutMs,
      maxDevices: config.limits.maxDevices,
    },
    mqtt: { reconnectMs: mqtt.reconnectMs, ...mqttCredentials(mqtt) },
    registry,
    log: log.child({ part: "ota" }),
  };
}
