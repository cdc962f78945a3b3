// Host side of the simulated "embedded:network/mqtt/client" (firmware/sim/host/mqtt-client.ts):
// one bridge per simulated device, one MQTT.js connection per firmware connection attempt.
//
// - Each mqtt.connect from the firmware opens a NEW MQTT.js client with the firmware's client id,
//   clean session as the firmware asks (false), its keepalive and its Will, and reconnectPeriod 0:
//   the bridge never reconnects on its own; the firmware's session does backoff and reconnects.
// - mqtt.publish maps the firmware's packet id to MQTT.js's QoS 1 callback; a "puback" event goes
//   back into XS only when the broker acknowledged the message. A publish whose connection died
//   never gets one: the firmware keeps the message and sends it again after reconnecting.
// - Connection loss (error, close, offline) becomes exactly one "closed" event per connection.
// - Events queue here until the device runner delivers them with worker.call("mqtt.events").
import mqtt, { type MqttClient } from "mqtt";
import type { BridgeEvent } from "../firmware/sim/host/mqtt-client.js";

export interface MqttBridgeOptions {
  /** broker URL; the firmware's host/port are replaced by it (the simulated device always reaches this broker) */
  brokerUrl: string;
  /** wakes the device runner when events are waiting */
  onEvent?: () => void;
  connectTimeoutMs?: number;
}

interface Connection {
  client: MqttClient;
  closed: boolean;
}

export class MqttBridge {
  readonly #options: MqttBridgeOptions;
  readonly #connections = new Map<number, Connection>();
  #events: BridgeEvent[] = [];
  #nextHandle = 1;
  /** counters, for the fleet's live line and tests */
  readonly counters = { connects: 0, connacks: 0, closes: 0, published: 0, acknowledged: 0, received: 0 };

  constructor(options: MqttBridgeOptions) {
    this.#options = options;
  }

  /** true while any connection of this device has a CONNACK and is open */
  get connected(): boolean {
    for (const connection of this.#connections.values()) if (!connection.closed && connection.client.connected) return true;
    return false;
  }

  get pendingEvents(): number {
    return this.#events.length;
  }

  /** the events queued for the firmware, oldest first; empties the queue */
  takeEvents(): BridgeEvent[] {
    const events = this.#events;
    this.#events = [];
    return events;
  }

  /** answers a firmware hostCall whose op starts with "mqtt."; returns undefined for other ops */
  handle(message: Record<string, unknown> & { op: string }): { handled: boolean; value?: unknown } {
    switch (message.op) {
      case "mqtt.connect":
        return { handled: true, value: this.#connect(message) };
      case "mqtt.publish":
        this.#publish(message);
        return { handled: true };
      case "mqtt.subscribe":
        this.#subscribe(message);
        return { handled: true };
      case "mqtt.disconnect":
      case "mqtt.close":
        this.#close(message.handle as number, message.op === "mqtt.disconnect");
        return { handled: true };
      default:
        return { handled: false };
    }
  }

  /** ends every connection at once (device power-off or simulator shutdown) */
  async dispose(): Promise<void> {
    const ends: Promise<unknown>[] = [];
    for (const [handle, connection] of this.#connections) {
      connection.closed = true;
      ends.push(connection.client.endAsync(true).catch(() => undefined));
      this.#connections.delete(handle);
    }
    await Promise.all(ends);
    this.#events = [];
  }

  #push(event: BridgeEvent): void {
    this.#events.push(event);
    this.#options.onEvent?.();
  }

  #connect(message: Record<string, unknown>): number {
    const handle = this.#nextHandle++;
    const will = message.will as { topic: string; payload: number[]; qos: 0 | 1 | 2; retain: boolean } | undefined;
    const client = mqtt.connect(this.#options.brokerUrl, {
      clientId: message.id as string,
      clean: message.clean as boolean,
      keepalive: Math.max(0, Math.round((message.keepaliveMs as number) / 1000)),
      reconnectPeriod: 0,
      connectTimeout: this.#options.connectTimeoutMs ?? 5000,
      protocolVersion: 4,
      will: will ? { topic: will.topic, payload: Buffer.from(will.payload), qos: will.qos, retain: will.retain } : undefined,
    });
    const connection: Connection = { client, closed: false };
    this.#connections.set(handle, connection);
    this.counters.connects++;
    const lose = (reason: string) => {
      if (connection.closed) return;
      connection.closed = true;
      this.#connections.delete(handle);
      this.counters.closes++;
      client.end(true);
      this.#push({ handle, type: "closed", reason });
    };
    client.on("connect", (connack) => {
      if (connection.closed) return;
      this.counters.connacks++;
      this.#push({ handle, type: "connack", returnCode: connack.returnCode ?? 0 });
    });
    client.on("message", (topic, payload, packet) => {
      if (connection.closed) return;
      this.counters.received++;
      this.#push({ handle, type: "message", topic, qos: packet.qos, payload: Array.from(payload) });
    });
    client.on("error", (error) => lose(`error: ${error.message}`));
    client.on("close", () => lose("connection closed"));
    client.on("offline", () => lose("offline"));
    return handle;
  }

  #publish(message: Record<string, unknown>): void {
    const handle = message.handle as number;
    const connection = this.#connections.get(handle);
    if (!connection || connection.closed) return; // the closed event is already queued
    const id = message.id as number;
    const qos = message.qos as 0 | 1 | 2;
    this.counters.published++;
    connection.client.publish(message.topic as string, Buffer.from(message.payload as number[]), { qos, retain: message.retain as boolean }, (error) => {
      if (error || connection.closed || qos === 0) return;
      this.counters.acknowledged++;
      this.#push({ handle, type: "puback", id });
    });
  }

  #subscribe(message: Record<string, unknown>): void {
    const handle = message.handle as number;
    const connection = this.#connections.get(handle);
    if (!connection || connection.closed) return;
    const items = message.items as { topic: string; qos: 0 | 1 | 2 }[];
    const id = message.id as number;
    connection.client.subscribe(
      Object.fromEntries(items.map((item) => [item.topic, { qos: item.qos }])),
      (error, granted) => {
        if (connection.closed) return;
        const codes = error ? items.map(() => 0x80) : (granted ?? []).map((grant) => grant.qos);
        this.#push({ handle, type: "suback", id, granted: codes });
      },
    );
  }

  #close(handle: number, orderly: boolean): void {
    const connection = this.#connections.get(handle);
    if (!connection) return;
    connection.closed = true;
    this.#connections.delete(handle);
    // orderly: DISCONNECT (the broker drops the Will); otherwise a torn socket (the Will fires)
    if (orderly) connection.client.end(false);
    else connection.client.end(true);
  }
}
