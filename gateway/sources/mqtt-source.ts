// MQTT source: a persistent session (clean: false, fixed client id) with QoS 1 subscriptions to
// the device topics (tele, alert, status) of the configured sites. Messages go through a group
// commit; each is acknowledged only once durable (deferred-puback.ts). Also publishes the
// gateway's local alerts and events (QoS 1).
//
// Behaviour: reconnects every reconnectMs while the broker is away; subscribes again on every
// connect (a broker that lost its state has no session); the broker keeps queued messages for
// the session while the gateway is down (size it: max_queued_messages, see README).
import { readFileSync } from "node:fs";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import type { Logger } from "pino";
import { deviceFilter, type DeviceTopicKind } from "../../protocol/topics.js";
import { installDeferredPuback } from "./deferred-puback.js";
import { GroupCommit, type Pending } from "./group-commit.js";

export interface MqttSourceOptions {
  url: string;
  clientId: string;
  sites: string[];
  username?: string;
  passwordFile?: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  keepaliveS: number;
  reconnectMs: number;
  commitIntervalMs: number;
  commitMaxMessages: number;
}

const KINDS: DeviceTopicKind[] = ["tele", "alert", "status"];

export class MqttSource {
  readonly client: MqttClient;
  readonly #group: GroupCommit;
  #connected = false;

  constructor(options: MqttSourceOptions, commit: (messages: Pending[]) => void, private readonly log: Logger) {
    this.#group = new GroupCommit(commit, options.commitIntervalMs, options.commitMaxMessages, (error, messages) => {
      log.error({ err: error, messages: messages.length }, "commit failed: messages not acknowledged; reconnecting so the broker redelivers them");
      // a broker redelivers unacknowledged QoS 1 messages only on a new connection
      this.client.stream?.destroy();
    });
    const clientOptions: IClientOptions = {
      clientId: options.clientId,
      clean: false,
      protocolVersion: 4,
      keepalive: options.keepaliveS,
      reconnectPeriod: options.reconnectMs,
      connectTimeout: 10_000,
      resubscribe: false,
      manualConnect: true,
    };
    // MQTT.js calls its debug logger about ten times per message, and each call allocates even
    // while the output is off; the gateway logs through pino, so MQTT.js's own tracing is on only
    // when asked for (DEBUG=mqttjs*)
    if (!/mqttjs/.test(process.env.DEBUG ?? "")) clientOptions.log = () => {};
    if (options.username) clientOptions.username = options.username;
    if (options.passwordFile) clientOptions.password = readFileSync(options.passwordFile, "utf8").trim();
    if (options.caFile) clientOptions.ca = readFileSync(options.caFile);
    if (options.certFile) clientOptions.cert = readFileSync(options.certFile);
    if (options.keyFile) clientOptions.key = readFileSync(options.keyFile);
    if (options.caFile) clientOptions.rejectUnauthorized = true;
    this.client = mqtt.connect(options.url, clientOptions);
    installDeferredPuback(this.client, (topic, payload, ack) => this.#group.push({ topic, payload, ack }));
    const filters = Object.fromEntries(options.sites.flatMap((site) => KINDS.map((kind) => [deviceFilter(kind, site), { qos: 1 as const }])));
    this.client.on("connect", (connack) => {
      this.#connected = true;
      log.info({ sessionPresent: connack.sessionPresent }, "connected to the broker");
      this.client.subscribe(filters, (error) => {
        if (error) log.error({ err: error }, "subscribe failed");
      });
    });
    this.client.on("close", () => {
      if (this.#connected) log.warn("broker connection closed; reconnecting");
      this.#connected = false;
    });
    this.client.on("error", (error) => log.warn({ err: error }, "mqtt error"));
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** Connects (resolves at the first connect, or after `timeoutMs` while it keeps retrying). */
  async start(timeoutMs = 10_000): Promise<void> {
    this.client.connect();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.client.once("connect", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  publish(topic: string, payload: Uint8Array): void {
    this.client.publish(topic, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), { qos: 1 }, (error) => {
      if (error) this.log.warn({ err: error, topic }, "local publish failed");
    });
  }

  /** Commits what waits right now (tests, shutdown). */
  flush(): void {
    this.#group.flush();
  }

  /** Stops intake, commits and acknowledges what waits, then disconnects. */
  async close(): Promise<void> {
    this.#group.close();
    await new Promise<void>((resolve) => this.client.end(false, {}, () => resolve()));
  }
}
