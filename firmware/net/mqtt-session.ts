// Resilient MQTT session of the device, on the device's own MQTT client (mqtt-client.ts) over the
// socket the host provider device.network.mqtt names (TLS on the device unless the build asked for
// plain MQTT; in the simulator a real TCP connection to the real broker).
//
// Behaviour:
// - client id = the device id; CleanSession false (the broker keeps the session and the cfg
//   subscription across short drops, and the gateway sees one stable client).
// - Last Will: the protocol Will {v, d, b, o: false} on the status topic, QoS 1, retained, so the
//   broker marks the device offline when it vanishes.
// - Telemetry, alerts and status are published at QoS 1 from the MessageRing; a message leaves the
//   ring only on its PUBACK. At most `maxInflight` messages are unacknowledged at once; when the
//   client's send queue is full (a slow link), the rest wait in the ring until its onWritable.
// - On CONNACK: subscribe to the config topic (QoS 1) every time (resubscribe after every
//   reconnect: the broker may have lost the session), report onConnected, then drain the ring.
// - Connection loss (the client's onClosed: socket error, broker close, protocol error, refused
//   CONNACK, keepalive, TLS refusal; or no CONNACK within connectTimeoutMs): put every in-flight
//   message back in line, and reconnect after min(maxMs, initialMs * 2^attempt) scaled by a random
//   factor in [0.5, 1] ("equal jitter", so a fleet that lost its broker together does not come back
//   together). A CONNACK resets attempt. The reason is kept (lastLossReason) for the status.
// - Keepalive: the client's (mqtt-client.ts: PINGREQ after 1/4 keepalive of silence, link dropped
//   when a reply is 3/4 keepalive late).
// - Inbound messages (cfg; ota and otadata with the OTA agent) larger than maxInboundBytes are discarded by the
//   client before any buffer is made, acknowledged, counted, and reported (onDiscarded: the app
//   answers with an error status).
// - publishUnsequenced(): QoS 0 outside the ring, for traffic that must never occupy it (OTA chunk
//   requests, protocol/ota.ts); refused while not connected or while the client's queue is full.
// Timers come from an injected scheduler (Moddable's Timer on the device), randomness from an
// injected source, so the session runs and is tested anywhere.
import { MqttClient, type ResolverProvider, type SocketProvider } from "./mqtt-client.js";
import type { InboundPublish } from "./mqtt-parser.js";
import type { MessageRing } from "./message-ring.js";

/** device.network.mqtt: the socket the client runs over, and a resolver for a broker named by host name */
export interface MqttProvider {
  socket: SocketProvider;
  dns?: ResolverProvider;
}

export interface SessionScheduler {
  set(callback: () => void, delayMs: number): unknown;
  clear(id: unknown): void;
}

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

export interface MqttSessionOptions {
  provider: MqttProvider;
  host: string;
  port: number;
  clientId: string;
  keepaliveMs: number;
  connectTimeoutMs: number;
  backoff: BackoffOptions;
  /** status topic and the encoded protocol Will */
  will: { topic: string; message: ArrayBuffer };
  /** topics subscribed (QoS 1) after every CONNACK */
  subscriptions: string[];
  ring: MessageRing;
  maxInflight: number;
  maxInboundBytes: number;
  scheduler: SessionScheduler;
  /** a monotonic millisecond clock (keepalive) */
  nowMs: () => number;
  /** publish() waits while the client has this much queued for the socket (default 2048) */
  maxQueuedBytes?: number;
  /** uniform in [0, 1) */
  random: () => number;
  onConnected?: () => void;
  onDisconnected?: () => void;
  onMessage?: (topic: string, bytes: Uint8Array) => void;
  /** an inbound message was too large to take (counted in counters.inboundDiscarded) */
  onDiscarded?: (topic: string, byteLength: number) => void;
  /** the broker acknowledged a message of the ring (PUBACK), on this topic */
  onAcknowledged?: (topic: string) => void;
}

export type SessionState = "idle" | "connecting" | "connected" | "waiting" | "stopped";

const SUBACK_FAILURE = 0x80;
const DEFAULT_MAX_QUEUED_BYTES = 2048;

export class MqttSession {
  readonly #options: MqttSessionOptions;
  #client: MqttClient | undefined;
  #state: SessionState = "idle";
  #timer: unknown;
  #attempt = 0;
  #inflight = 0;
  #packetId = 0;
  /** why the last connection ended (or the last attempt failed) */
  lastLossReason = "";
  /** counters since boot */
  readonly counters = { connects: 0, connectionLosses: 0, published: 0, acknowledged: 0, inboundDiscarded: 0, subscribeFailures: 0 };

  constructor(options: MqttSessionOptions) {
    if (options.maxInflight < 1 || options.maxInflight > 1000) throw new RangeError("mqtt session: maxInflight must be in 1..1000");
    this.#options = options;
  }

  get state(): SessionState {
    return this.#state;
  }

  get connected(): boolean {
    return this.#state === "connected";
  }

  start(): void {
    if (this.#state === "idle" || this.#state === "stopped") this.#connect();
  }

  /** Orderly shutdown: DISCONNECT (the broker then discards the Will) and no reconnect. */
  stop(): void {
    this.#clearTimer();
    const client = this.#client;
    this.#client = undefined;
    client?.disconnect();
    this.#options.ring.requeueInflight();
    this.#inflight = 0;
    this.#state = "stopped";
  }

  /** Sends what the ring holds, up to maxInflight unacknowledged messages. Call after ring.push(). */
  pump(): void {
    const client = this.#client;
    if (this.#state !== "connected" || !client) return;
    const ring = this.#options.ring;
    while (this.#inflight < this.#options.maxInflight) {
      const entry = ring.next();
      if (!entry) return;
      const id = this.#nextPacketId();
      // false: the client's send queue is full; its onWritable pumps again
      if (!client.publish({ topic: entry.topic, payload: entry.bytes, qos: 1, retain: entry.retain, id })) return;
      ring.markSent(entry, id);
      this.#inflight++;
      this.counters.published++;
    }
  }

  #connect(): void {
    const options = this.#options;
    this.#state = "connecting";
    this.#timer = options.scheduler.set(() => {
      this.#timer = undefined;
      this.#lost(`no CONNACK within ${options.connectTimeoutMs} ms`);
    }, options.connectTimeoutMs);
    // callbacks of a client the session has already given up (timed out, closed) are ignored
    let client: MqttClient | undefined;
    const current = () => client !== undefined && client === this.#client;
    try {
      client = new MqttClient({
        socket: options.provider.socket,
        dns: options.provider.dns,
        host: options.host,
        port: options.port,
        clientId: options.clientId,
        clean: false,
        keepAliveMs: options.keepaliveMs,
        will: { topic: options.will.topic, payload: new Uint8Array(options.will.message), qos: 1, retain: true },
        maxInboundBytes: options.maxInboundBytes,
        maxQueuedBytes: options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES,
        timers: { set: options.scheduler.set, clear: options.scheduler.clear, nowMs: options.nowMs },
        onConnected: () => {
          if (current()) this.#onConnected(client!);
        },
        onPuback: (id) => {
          if (current()) this.#onPuback(id);
        },
        onSuback: (_id, granted) => {
          if (current() && granted.some((code) => code === SUBACK_FAILURE)) this.counters.subscribeFailures++;
        },
        onMessage: (message) => {
          if (current()) this.#onMessage(message);
        },
        onWritable: () => {
          if (current()) this.pump();
        },
        onClosed: (reason) => {
          if (current()) this.#lost(reason);
        },
      });
      // the client may have failed inside its constructor (a socket that could not be made)
      if (client.state !== "closed") this.#client = client;
      else if (this.#state === "connecting") this.#lost("socket could not be opened");
    } catch (error) {
      this.#lost(`client: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  #onConnected(client: MqttClient): void {
    this.#clearTimer();
    this.#state = "connected";
    this.#attempt = 0;
    this.#inflight = 0;
    this.counters.connects++;
    client.subscribe(this.#nextPacketId(), this.#options.subscriptions.map((topic) => ({ topic, qos: 1 as const })));
    this.#options.onConnected?.();
    this.pump();
  }

  /** QoS 0, not through the ring; false when it cannot go now (the caller retries on its own timer) */
  publishUnsequenced(topic: string, payload: Uint8Array): boolean {
    const client = this.#client;
    if (this.#state !== "connected" || !client) return false;
    return client.publish({ topic, payload, qos: 0, retain: false });
  }

  #onPuback(id: number): void {
    const topic = this.#options.onAcknowledged ? this.#options.ring.inflightEntry(id)?.topic : undefined;
    if (!this.#options.ring.acknowledge(id)) return;
    this.#inflight--;
    this.counters.acknowledged++;
    if (topic !== undefined) this.#options.onAcknowledged?.(topic);
    this.pump();
  }

  #onMessage(message: InboundPublish): void {
    if (!message.payload) {
      this.counters.inboundDiscarded++;
      this.#options.onDiscarded?.(message.topic, message.byteLength);
      return;
    }
    this.#options.onMessage?.(message.topic, message.payload);
  }

  #lost(reason: string): void {
    if (this.#state === "stopped" || this.#state === "waiting") return;
    const wasConnected = this.#state === "connected";
    this.lastLossReason = reason;
    this.#clearTimer();
    const client = this.#client;
    this.#client = undefined;
    client?.close();
    this.#options.ring.requeueInflight();
    this.#inflight = 0;
    this.#state = "waiting";
    this.counters.connectionLosses++;
    const { initialMs, maxMs } = this.#options.backoff;
    const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    const delayMs = Math.round(ceiling * (0.5 + 0.5 * this.#options.random()));
    this.#timer = this.#options.scheduler.set(() => {
      this.#timer = undefined;
      this.#connect();
    }, delayMs);
    if (wasConnected) this.#options.onDisconnected?.();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) this.#options.scheduler.clear(this.#timer);
    this.#timer = undefined;
  }

  #nextPacketId(): number {
    this.#packetId = this.#packetId >= 0xffff ? 1 : this.#packetId + 1;
    return this.#packetId;
  }
}
