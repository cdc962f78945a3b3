// A JSON-over-MQTT source: third-party sensors (ESPHome, Tasmota, `mosquitto_pub`) on topics
// outside vw/v1, mapped to readings by json-mapping.ts.
//
// Behaviour (the device intake's guarantees, with the device intake's own machinery):
// - Its own MQTT session (mqtt5-client.ts: MQTT 5, clean start false, a fixed client id, session
//   never expires, QoS 1 subscriptions renewed on every connect): the broker keeps this source's
//   messages while the gateway is away.
// - Messages go through a group commit (group-commit.ts): mapped, then stored (readings) or
//   quarantined (refusals) in ONE buffer transaction, and only then acknowledged. A failed commit
//   acknowledges nothing (the broker redelivers) and gives the sequence slots back.
// - Per-source rate limit (token bucket, ratePerS/burst): a message over it is acknowledged,
//   dropped and counted as a gap (vw_gateway_source_gaps_total), so the audit explains it.
// - A refused message (not JSON, over maxMessageBytes, a path missing or of the wrong type) is
//   quarantined with its code and reason, counted (vw_gateway_source_quarantined_total), and
//   logged: one line per code per minute at most (repeated-log.ts), with the count in between.
import { readFileSync } from "node:fs";
import { GroupCommit, type Pending } from "../group-commit.js";
import { Mqtt5Client, type Mqtt5ClientOptions } from "../mqtt5-client.js";
import { DeviceRateLimiter } from "../../limits/token-bucket.js";
import { RepeatedLog } from "../../repeated-log.js";
import type { NewRecord, QuarantineEntry } from "../../buffer/record-buffer.js";
import type { JsonMqttSourceConfig } from "./json-mqtt-config.js";
import { JSON_REFUSAL_CODES, JsonMapper, JsonRefusal, JsonRefusalCode } from "./json-mapping.js";
import { ReadingStream, type ReadingValues, type SourceContext } from "../southbound/reading-stream.js";
import type { SouthboundSource } from "../southbound/southbound-source.js";

/** One log line per refusal code per this long at most. */
const QUARANTINE_LOG_EVERY_MS = 60_000;
const COMMIT_INTERVAL_MS = 5;
const COMMIT_MAX_MESSAGES = 500;
const SESSION_NEVER_EXPIRES = 0xffffffff;

export interface JsonMqttEndpoint {
  /** the gateway's broker, when the source names none */
  url: string;
  clientId: string;
  reconnectMs: number;
  reconnectMaxMs: number;
  keepaliveS: number;
}

/** A quarantine entry's topic: the source's name first, so `vibewatch quarantine replay` knows whose mapping to run. */
export function quarantineTopic(source: string, topic: string): string {
  return `${source}:${topic}`;
}

export class JsonMqttSource implements SouthboundSource {
  readonly stream: ReadingStream;
  readonly mapper: JsonMapper;
  readonly client: Mqtt5Client;
  readonly #group: GroupCommit;
  readonly #limiter: DeviceRateLimiter;
  readonly #quarantineLog: RepeatedLog;
  #everConnected = false;

  constructor(readonly config: JsonMqttSourceConfig, private readonly context: SourceContext, endpoint: JsonMqttEndpoint) {
    this.mapper = new JsonMapper(config);
    this.stream = new ReadingStream(context);
    this.#limiter = new DeviceRateLimiter(config.ratePerS, config.burst);
    this.#quarantineLog = new RepeatedLog({ log: context.log, intervalMs: QUARANTINE_LOG_EVERY_MS });
    context.metrics.initSource(config.name, JSON_REFUSAL_CODES);
    this.#group = new GroupCommit((messages) => this.#commit(messages), COMMIT_INTERVAL_MS, COMMIT_MAX_MESSAGES, (error, messages) => {
      context.log.error({ err: error, messages: messages.length }, "commit failed: messages not acknowledged; reconnecting so the broker redelivers them");
      setTimeout(() => this.client.reconnect(), endpoint.reconnectMs).unref();
    });
    const options: Mqtt5ClientOptions = {
      url: config.url ?? endpoint.url,
      clientId: config.clientId ?? endpoint.clientId,
      keepaliveS: endpoint.keepaliveS,
      sessionExpiryS: SESSION_NEVER_EXPIRES,
      receiveMaximum: COMMIT_MAX_MESSAGES,
      reconnectMs: endpoint.reconnectMs,
      reconnectMaxMs: endpoint.reconnectMaxMs,
      connectTimeoutMs: 10_000,
      subscriptions: this.mapper.filters,
    };
    if (config.username) options.username = config.username;
    if (config.passwordFile) options.password = readFileSync(config.passwordFile, "utf8").trim();
    this.client = new Mqtt5Client(options, (topic, payload, ack) => this.#group.push({ topic, payload, ack }));
    this.client.on("connect", () => {
      context.metrics.sourceConnected.set({ source: config.name }, 1);
      if (this.#everConnected) context.metrics.sourceReconnects.inc({ source: config.name });
      this.#everConnected = true;
      context.log.info({ filters: this.mapper.filters }, "json-mqtt source connected");
    });
    this.client.on("close", () => context.metrics.sourceConnected.set({ source: config.name }, 0));
    this.client.on("error", (error: Error) => context.log.warn({ err: error }, "json-mqtt source: mqtt error"));
  }

  get connected(): boolean {
    return this.client.connected;
  }

  async start(): Promise<void> {
    this.client.connect();
  }

  #commit(messages: Pending[]): void {
    const mark = this.stream.mark();
    const records: NewRecord[] = [];
    const stored: ReadingValues[] = [];
    const quarantine: QuarantineEntry[] = [];
    let overRate = 0;
    const arrivalUs = Date.now() * 1000;
    for (const message of messages) {
      try {
        const mapped = this.mapper.map(message.topic, message.payload, arrivalUs);
        if (!this.#limiter.take(this.config.name)) {
          overRate++;
          continue;
        }
        records.push(this.stream.record(mapped.timeUs, mapped.values));
        stored.push(mapped.values);
      } catch (error) {
        const refusal = error instanceof JsonRefusal ? error : new JsonRefusal(JsonRefusalCode.Mapping, (error as Error).message);
        quarantine.push({ topic: quarantineTopic(this.config.name, message.topic), device: this.config.name, code: refusal.code, reason: refusal.message, payload: message.payload });
      }
    }
    try {
      this.context.store(records, quarantine);
    } catch (error) {
      this.stream.rollback(mark);
      throw error;
    }
    const { name } = this.config;
    this.context.metrics.sourcePolls.inc({ source: name, outcome: "ok" }, records.length);
    this.context.metrics.sourcePolls.inc({ source: name, outcome: "failed" }, quarantine.length + overRate);
    for (const values of stored) this.stream.countValues(values);
    if (overRate > 0) {
      this.stream.gap(overRate);
      this.#quarantineLog.note("warn", "rate", { source: name, dropped: overRate, ratePerS: this.config.ratePerS }, "json-mqtt source over its rate: messages dropped (counted as gaps)");
    }
    for (const entry of quarantine) {
      this.context.metrics.sourceQuarantined.inc({ source: name, reason: entry.code });
      this.#quarantineLog.note("warn", entry.code, { source: name, topic: entry.topic, code: entry.code, reason: entry.reason }, "json-mqtt message quarantined (see `vibewatch quarantine list`)");
    }
  }

  /** Commits what waits now (tests, shutdown). */
  flush(): void {
    this.#group.flush();
  }

  async stop(): Promise<void> {
    this.#group.close();
    await this.client.end();
    this.context.metrics.sourceConnected.set({ source: this.config.name }, 0);
  }
}
