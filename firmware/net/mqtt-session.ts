// Resilient MQTT session of the device, on the ECMA-419 MQTT client ("embedded:network/mqtt/client",
// reached through the host provider device.network.mqtt; in the SDK: examples/io/tcp/mqttclient/).
//
// Why not Moddable's legacy "mqtt" module: it is QoS 0 only (it never dispatches PUBACK) and always
// sets CleanSession, so the device could not keep a message until the broker has it.
//
// Behaviour:
// - client id = the device id; CleanSession false (the broker keeps the session and the cfg
//   subscription across short drops, and the gateway sees one stable client).
// - Last Will: the protocol Will {v, d, b, o: false} on the status topic, QoS 1, retained, so the
//   broker marks the device offline when it vanishes.
// - Telemetry, alerts and status are published at QoS 1 from the MessageRing; a message leaves the
//   ring only on its PUBACK. At most `maxInflight` messages are unacknowledged at once.
// - On CONNACK: subscribe to the config topic (QoS 1) every time (resubscribe after every
//   reconnect: the broker may have lost the session), report onConnected, then drain the ring.
// - Connection loss (onError/onClose, a refused CONNACK, or no CONNACK within connectTimeoutMs):
//   close the client, put every in-flight message back in line, and reconnect after
//   min(maxMs, initialMs * 2^attempt) scaled by a random factor in [0.5, 1] ("equal jitter", so a
//   fleet that lost its broker together does not come back together). A CONNACK resets attempt.
// - Keepalive: passed to the client (PINGREQ every keepaliveMs/2 when idle; the client drops the
//   connection when the broker stays silent for 1.5 x keepaliveMs).
// - Inbound messages (only cfg is subscribed) larger than maxInboundBytes are discarded before any
//   buffer is made, counted, and reported (onDiscarded: the app answers with an error status).
// Timers come from an injected scheduler (Moddable's Timer on the device), randomness from an
// injected source, so the session runs and is tested anywhere.
import type MQTTClient from "embedded:network/mqtt/client";
import type { MqttClientClass, MqttClientLike, MqttControlMessage, MqttReadableOptions } from "./mqtt-client-contract.js";
import type { MessageRing } from "./message-ring.js";

export type { MqttClientLike } from "./mqtt-client-contract.js";

/** device.network.mqtt: the client class plus its provider parts (dns, socket). */
export interface MqttProvider {
  io: typeof MQTTClient;
  [part: string]: unknown;
}

/**
 * The provider's client class as the contract the session relies on. The SDK's typings (8.2) describe
 * onControl, write() and the CONNACK/SUBACK messages differently from what its mqttclient.js does
 * (listed in mqtt-client-contract.ts); this is the one place that bridges them (type-level only).
 */
function clientClass(provider: MqttProvider): MqttClientClass {
  return provider.io as unknown as MqttClientClass;
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
  /** uniform in [0, 1) */
  random: () => number;
  onConnected?: () => void;
  onDisconnected?: () => void;
  onMessage?: (topic: string, bytes: Uint8Array) => void;
  /** an inbound message was too large to take (counted in counters.inboundDiscarded) */
  onDiscarded?: (topic: string, byteLength: number) => void;
}

export type SessionState = "idle" | "connecting" | "connected" | "waiting" | "stopped";

// MQTT control packet types (MQTT 3.1.1 §2.2.1), as the client's static fields number them.
const CONNACK = 2;
const PUBACK = 4;
const SUBSCRIBE = 8;
const SUBACK = 9;
const DISCONNECT = 14;
const SUBACK_FAILURE = 0x80;

export class MqttSession {
  readonly #options: MqttSessionOptions;
  #client: MqttClientLike | undefined;
  #state: SessionState = "idle";
  #timer: unknown;
  #attempt = 0;
  #inflight = 0;
  #packetId = 0;
  #inbound: { topic: string; bytes: Uint8Array | undefined; at: number } | undefined;
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
    if (this.#client && this.#state === "connected") {
      try {
        this.#client.write(null, { operation: DISCONNECT });
      } catch {
        // the socket may already be gone; closing below is enough
      }
    }
    this.#closeClient();
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
      try {
        client.write(entry.bytes.buffer as ArrayBuffer, { topic: entry.topic, QoS: 1, retain: entry.retain, id });
      } catch {
        return; // no room in the socket now; onWritable pumps again
      }
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
      this.#lost();
    }, options.connectTimeoutMs);
    // callbacks of a client the session has already given up (timed out, closed) are ignored
    let client: MqttClientLike | undefined;
    const current = () => client !== undefined && client === this.#client;
    try {
      const Client = clientClass(options.provider);
      client = new Client({
        ...options.provider,
        host: options.host,
        port: options.port,
        id: options.clientId,
        clean: false,
        keepAlive: options.keepaliveMs,
        will: { topic: options.will.topic, message: options.will.message, QoS: 1, retain: true },
        onControl: (message) => {
          if (current()) this.#onControl(client!, message);
        },
        onReadable: (count, readable) => {
          if (current()) this.#onReadable(client!, count, readable);
        },
        onWritable: () => {
          if (current()) this.pump();
        },
        onError: () => {
          if (current()) this.#lost();
        },
        onClose: () => {
          if (current()) this.#lost();
        },
      });
      this.#client = client;
    } catch {
      this.#lost();
    }
  }

  #onControl(client: MqttClientLike, message: MqttControlMessage): void {
    switch (message.operation) {
      case CONNACK:
        if (message.returnCode) return this.#lost();
        this.#clearTimer();
        this.#state = "connected";
        this.#attempt = 0;
        this.#inflight = 0;
        this.counters.connects++;
        try {
          client.write(null, { operation: SUBSCRIBE, id: this.#nextPacketId(), items: this.#options.subscriptions.map((topic) => ({ topic, QoS: 1 })) });
        } catch {
          return this.#lost();
        }
        this.#options.onConnected?.();
        this.pump();
        return;
      case PUBACK:
        if (message.id !== undefined && this.#options.ring.acknowledge(message.id)) {
          this.#inflight--;
          this.counters.acknowledged++;
          this.pump();
        }
        return;
      case SUBACK:
        if (message.payload?.some((granted) => granted === SUBACK_FAILURE)) this.counters.subscribeFailures++;
        return;
      default:
        return;
    }
  }

  #onReadable(client: MqttClientLike, count: number, readable: MqttReadableOptions): void {
    if (readable.topic !== undefined) {
      const byteLength = readable.byteLength ?? count;
      const fits = byteLength <= this.#options.maxInboundBytes;
      if (!fits) {
        this.counters.inboundDiscarded++;
        this.#options.onDiscarded?.(readable.topic, byteLength);
      }
      this.#inbound = { topic: readable.topic, bytes: fits ? new Uint8Array(byteLength) : undefined, at: 0 };
    }
    const chunk = client.read(count);
    const inbound = this.#inbound;
    if (!inbound) return;
    if (inbound.bytes && chunk) {
      const part = new Uint8Array(chunk);
      if (inbound.at + part.length > inbound.bytes.length) {
        inbound.bytes = undefined; // the broker sent more than it announced: drop it
        this.counters.inboundDiscarded++;
      } else {
        inbound.bytes.set(part, inbound.at);
        inbound.at += part.length;
      }
    }
    if (readable.more) return;
    this.#inbound = undefined;
    if (inbound.bytes) this.#options.onMessage?.(inbound.topic, inbound.bytes.subarray(0, inbound.at));
  }

  #lost(): void {
    if (this.#state === "stopped" || this.#state === "waiting") return;
    const wasConnected = this.#state === "connected";
    this.#clearTimer();
    this.#closeClient();
    this.#options.ring.requeueInflight();
    this.#inflight = 0;
    this.#inbound = undefined;
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

  #closeClient(): void {
    const client = this.#client;
    this.#client = undefined;
    try {
      client?.close();
    } catch {
      // closing a client that already failed may throw; it is gone either way
    }
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
