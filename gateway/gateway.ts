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
import { Intake } from "./intake.js";
import { OpsServer, type HealthReport } from "./http-server.js";
import { createLogger } from "./logger.js";
import { PAYLOAD_VERSION } from "../protocol/limits.js";
import { cborEncoder } from "../protocol/schema/validate.js";
import type { GatewayStatus } from "../protocol/batch.js";

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
  httpPort = 0;
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
    this.#intake = new Intake(this.buffer, this.#limiter, this.#presence, local, this.metrics, this.log.child({ part: "intake" }), () =>
      this.sink.nudge(),
    );
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
    });
  }

  static async start(config: GatewayConfig, options: GatewayStartOptions = {}): Promise<Gateway> {
    const gateway = new Gateway(config, options);
    try {
      gateway.httpPort = await gateway.#ops.listen(config.http.port, config.http.host);
      gateway.sink.start();
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
    };
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
    for (const timer of this.#timers) clearInterval(timer);
    await this.source.close().catch((error: unknown) => this.log.warn({ err: error }, "mqtt close"));
    await this.sink.close();
    await this.#ops.close().catch(() => undefined);
    this.buffer.close();
    this.log.info("gateway stopped");
  }
}
