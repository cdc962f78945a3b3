// MQTT.js clients over mqtts with a client certificate, and the few waits the security tests need.
// Every wait is bounded by an event that must come (a CONNACK, a marker message), never by time.
import { readFileSync } from "node:fs";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";

export interface TlsIdentity {
  /** PEM client certificate (or chain); omitted = connect without a certificate */
  cert?: string;
  key?: string;
}

export type ConnectOutcome = { connected: true; client: MqttClient } | { connected: false; error: string };

/** Connects once (no reconnect) and reports whether the broker let the client in. */
export async function tryConnect(port: number, caFile: string, identity: TlsIdentity, extra: Partial<IClientOptions> = {}): Promise<ConnectOutcome> {
  const options: IClientOptions = {
    protocol: "mqtts",
    host: "127.0.0.1",
    port,
    ca: readFileSync(caFile),
    ...(identity.cert ? { cert: readFileSync(identity.cert) } : {}),
    ...(identity.key ? { key: readFileSync(identity.key) } : {}),
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: 15_000,
    clean: true,
    ...extra,
  };
  const client = mqtt.connect(options);
  return await new Promise<ConnectOutcome>((resolve) => {
    let settled = false;
    const finish = (outcome: ConnectOutcome) => {
      if (settled) return;
      settled = true;
      if (!outcome.connected) client.end(true);
      resolve(outcome);
    };
    client.once("connect", () => finish({ connected: true, client }));
    client.once("error", (error) => finish({ connected: false, error: error.message }));
    client.once("close", () => finish({ connected: false, error: "connection closed before CONNACK" }));
  });
}

export async function connectOrThrow(port: number, caFile: string, identity: TlsIdentity, extra: Partial<IClientOptions> = {}): Promise<MqttClient> {
  const outcome = await tryConnect(port, caFile, identity, extra);
  if (!outcome.connected) throw new Error(`expected to connect, but: ${outcome.error}`);
  return outcome.client;
}

export interface ReceivedMessage {
  topic: string;
  payload: string;
}

/** Collects every message a client receives, and resolves waits for a given one. */
export class MessageCollector {
  readonly messages: ReceivedMessage[] = [];
  #waiters: Array<{ match: (m: ReceivedMessage) => boolean; resolve: () => void }> = [];

  constructor(client: MqttClient) {
    client.on("message", (topic, payload) => {
      const message = { topic, payload: payload.toString("utf8") };
      this.messages.push(message);
      this.#waiters = this.#waiters.filter((waiter) => {
        if (!waiter.match(message)) return true;
        waiter.resolve();
        return false;
      });
    });
  }

  /** Resolves when a message with this topic and payload has arrived (at once if it already has). */
  async waitFor(topic: string, payload: string): Promise<void> {
    const match = (m: ReceivedMessage) => m.topic === topic && m.payload === payload;
    if (this.messages.some(match)) return;
    await new Promise<void>((resolve) => this.#waiters.push({ match, resolve }));
  }
}

export async function subscribe(client: MqttClient, filter: string, qos: 0 | 1 = 1): Promise<number> {
  const granted = await client.subscribeAsync(filter, { qos });
  return granted[0]?.qos ?? -1;
}

export async function endAll(clients: Array<MqttClient | undefined>): Promise<void> {
  await Promise.all(clients.map((client) => client?.endAsync(true).catch(() => undefined)));
}
