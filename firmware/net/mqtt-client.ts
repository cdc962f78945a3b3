// The device's MQTT 3.1.1 client (QoS 0/1), over an ECMA-419 TCP socket ("embedded:io/socket/tcp")
// or a socket with the same shape (the SDK's TLS socket, the simulator's socket). One instance is
// one connection attempt: after onClosed it is dead, and the session makes a new one.
//
// Why our own: the SDK's example client (examples/io/tcp/mqttclient/) wedges for good on a PUBLISH
// with an empty payload (its parser waits for payload bytes that never come), and an exception in
// its callbacks reboots the device. This one is written against the socket's documented behaviour:
// - write(bytes) throws "would block" when bytes exceed the send buffer, returns the room left
//   (or undefined once the socket has failed); onWritable(count) reports room again. Packets queue
//   here (bounded: publish() answers false when full) and go out in pieces of at most that room,
//   so a packet larger than the whole send buffer still goes.
// - onReadable(count) may come for any piece of a packet (a TCP segment, a TLS record, one byte):
//   mqtt-parser.ts keeps its place. Inbound payloads are bounded (maxInboundBytes): a larger one is
//   skipped unbuffered, acknowledged (else the broker sends it again on every reconnect) and
//   reported as discarded.
// - onError() comes after the data received before the failure has been read (the SDK's sockets
//   deliver it then); the connection is then lost.
// - An exception thrown inside the socket's own callbacks (the SDK's TLS handshake throws on a
//   certificate it refuses) is caught by guardSocketCallbacks (socket-guard.ts) and reaches
//   onSocketException below as a lost connection with its reason, never as a reboot.
//
// Keepalive (§3.1.2.10): the client sends PINGREQ after a quarter of the keepalive with nothing
// sent, and drops the link when a reply it waits for (PUBACK, SUBACK, PINGRESP) has not come and
// nothing at all has come from the broker for three quarters of it: a frozen broker is noticed
// within 1¼ keepalive at worst (checks every 1/8), well inside the broker's own 1½.
import { encodeConnect, encodeDisconnect, encodePingreq, encodePuback, encodePublish, encodeSubscribe, type PublishFields, type WillMessage } from "./mqtt-packets.js";
import { MqttParser, MqttProtocolError, type InboundPublish } from "./mqtt-parser.js";

/** the ECMA-419 socket as this client uses it */
export interface SocketLike {
  read(count?: number): ArrayBuffer | undefined;
  write(bytes: ArrayBuffer): number | undefined;
  close(): void;
}

export interface SocketCallbacks {
  onReadable(count: number): void;
  onWritable(count: number): void;
  onError(): void;
  /** an exception thrown inside the socket's own handling (socket-guard.ts) */
  onSocketException?(error: unknown): void;
}

/** device.network.mqtt.socket: the socket class plus its own options (TLS: secure, TCP) */
export interface SocketProvider {
  io: new (options: Record<string, unknown>) => SocketLike;
  [option: string]: unknown;
}

export interface ResolverLike {
  resolve(options: { host: string; onResolved: (host: string, address: string) => void; onError: (host: string) => void }): void;
  close(): void;
}

/** device.network.mqtt.dns: the resolver class, its servers and its UDP socket provider */
export interface ResolverProvider {
  io: new (options: Record<string, unknown>) => ResolverLike;
  servers: string[];
  socket: unknown;
}

export interface ClientTimers {
  set(callback: () => void, delayMs: number): unknown;
  clear(id: unknown): void;
  nowMs(): number;
}

export interface MqttClientHandlers {
  /** CONNACK accepted */
  onConnected(sessionPresent: boolean): void;
  onPuback(id: number): void;
  onSuback(id: number, granted: number[]): void;
  /** an inbound PUBLISH, whole; payload undefined when it was discarded (message.discarded says why) */
  onMessage(message: InboundPublish): void;
  /** room to publish again after publish() answered false */
  onWritable(): void;
  /** the connection is gone (not called after close()) */
  onClosed(reason: string): void;
}

export interface MqttClientOptions extends MqttClientHandlers {
  socket: SocketProvider;
  /** resolves host names; without it, host must be an address */
  dns?: ResolverProvider;
  host: string;
  port: number;
  clientId: string;
  clean: boolean;
  /** 0 turns keepalive off */
  keepAliveMs: number;
  will?: WillMessage;
  user?: string;
  password?: string;
  /** inbound payloads above this are discarded unbuffered */
  maxInboundBytes: number;
  /** publish() refuses a packet while this much is queued (one packet is always accepted) */
  maxQueuedBytes: number;
  timers: ClientTimers;
}

export type ClientState = "resolving" | "connecting" | "handshake" | "connected" | "closed";

const MAX_TOPIC_BYTES = 256;

export class MqttClient {
  readonly #options: MqttClientOptions;
  readonly #parser: MqttParser;
  #state: ClientState = "resolving";
  #socket: SocketLike | undefined;
  #resolver: ResolverLike | undefined;
  #queue: Uint8Array[] = [];
  #queueAt = 0;
  #queuedBytes = 0;
  #writable = 0;
  #blocked = false;
  #keepAliveTimer: unknown;
  #lastSentMs = 0;
  #lastReceivedMs = 0;
  #awaiting = 0;
  #awaitingSinceMs = 0;
  #pingOutstanding = false;

  constructor(options: MqttClientOptions) {
    this.#options = options;
    this.#parser = new MqttParser({
      onConnack: (code, present) => this.#onConnack(code, present),
      onPublish: (message) => this.#onPublish(message),
      onPuback: (id) => {
        if (this.#state === "closed") return; // the rest of a piece read before a close
        this.#answered();
        options.onPuback(id);
      },
      onSuback: (id, granted) => {
        if (this.#state === "closed") return;
        this.#answered();
        options.onSuback(id, granted);
      },
      onPingresp: () => {
        this.#pingOutstanding = false;
        this.#answered();
      },
    }, { maxPayloadBytes: options.maxInboundBytes, maxTopicBytes: MAX_TOPIC_BYTES });
    if (options.dns) this.#resolve(options.dns);
    else this.#open(options.host);
  }

  get state(): ClientState {
    return this.#state;
  }

  /** bytes waiting to be written */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /**
   * Queues a PUBLISH. False when not connected or the queue is full: the caller keeps the message
   * and tries again on onWritable.
   */
  publish(fields: PublishFields): boolean {
    if (this.#state !== "connected") return false;
    const packet = encodePublish(fields);
    if (this.#queuedBytes > 0 && this.#queuedBytes + packet.length > this.#options.maxQueuedBytes) {
      this.#blocked = true;
      return false;
    }
    if (fields.qos > 0) this.#awaitReply();
    this.#send(packet);
    return true;
  }

  subscribe(id: number, topics: readonly { topic: string; qos: 0 | 1 }[]): void {
    if (this.#state !== "connected") throw new Error("mqtt: subscribe before CONNACK");
    this.#awaitReply();
    this.#send(encodeSubscribe(id, topics));
  }

  /** DISCONNECT (the broker then drops the Will), then close */
  disconnect(): void {
    if (this.#state === "connected") {
      this.#send(encodeDisconnect());
    }
    this.close();
  }

  /** closes at once; no callback follows */
  close(): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.#stopKeepAlive();
    this.#resolver?.close();
    this.#resolver = undefined;
    const socket = this.#socket;
    this.#socket = undefined;
    this.#queue = [];
    this.#queuedBytes = 0;
    try {
      socket?.close();
    } catch {
      // a socket that already failed may refuse to close; it is gone either way
    }
  }

  #lose(reason: string): void {
    if (this.#state === "closed") return;
    this.close();
    this.#options.onClosed(reason);
  }

  #resolve(dns: ResolverProvider): void {
    try {
      const resolver = new dns.io({ servers: dns.servers, socket: dns.socket });
      this.#resolver = resolver;
      resolver.resolve({
        host: this.#options.host,
        onResolved: (_host, address) => {
          if (this.#state !== "resolving") return;
          this.#resolver = undefined;
          resolver.close();
          this.#open(address);
        },
        onError: () => this.#lose(`DNS: cannot resolve ${this.#options.host}`),
      });
    } catch (error) {
      this.#lose(`DNS: ${errorText(error)}`);
    }
  }

  #open(address: string): void {
    this.#state = "connecting";
    const callbacks: SocketCallbacks = {
      onReadable: (count) => this.#onReadable(count),
      onWritable: (count) => this.#onWritable(count),
      onError: () => this.#lose("socket error or closed by the broker"),
      onSocketException: (error) => this.#lose(`socket: ${errorText(error)}`),
    };
    const { io, ...socketOptions } = this.#options.socket;
    try {
      this.#socket = new io({ ...socketOptions, address, host: this.#options.host, port: this.#options.port, ...callbacks });
    } catch (error) {
      this.#lose(`socket: ${errorText(error)}`);
    }
  }

  #onWritable(count: number): void {
    if (this.#state === "closed") return;
    this.#writable = count;
    if (this.#state === "connecting") {
      // the first onWritable: TCP (and TLS) connected
      const options = this.#options;
      this.#state = "handshake";
      this.#send(encodeConnect({
        clientId: options.clientId,
        clean: options.clean,
        keepAliveS: Math.round(options.keepAliveMs / 1000),
        will: options.will,
        user: options.user,
        password: options.password,
      }));
      return;
    }
    this.#flush();
    if (this.#state === "connected" && this.#blocked && this.#queuedBytes < this.#options.maxQueuedBytes) {
      this.#blocked = false;
      this.#options.onWritable();
    }
  }

  #onReadable(count: number): void {
    if (this.#state === "closed" || count <= 0) return;
    const socket = this.#socket;
    const data = socket?.read();
    if (!data) return;
    this.#lastReceivedMs = this.#options.timers.nowMs();
    try {
      this.#parser.push(new Uint8Array(data));
    } catch (error) {
      if (error instanceof MqttProtocolError) return this.#lose(`protocol: ${error.message}`);
      throw error;
    }
  }

  #onConnack(returnCode: number, sessionPresent: boolean): void {
    if (this.#state === "closed") return;
    if (this.#state !== "handshake") return this.#lose("protocol: CONNACK outside the handshake");
    if (returnCode !== 0) return this.#lose(`broker refused the connection (CONNACK return code ${returnCode})`);
    this.#state = "connected";
    this.#startKeepAlive();
    this.#options.onConnected(sessionPresent);
  }

  #onPublish(message: InboundPublish): void {
    if (this.#state === "closed") return;
    if (this.#state !== "connected") return this.#lose("protocol: PUBLISH before CONNACK");
    // acknowledged before it is handed on: a message the app cannot take (too large, invalid)
    // must not come back on every reconnect; what the app keeps it keeps before returning
    if (message.qos === 1) this.#send(encodePuback(message.id));
    this.#options.onMessage(message);
  }

  #send(packet: Uint8Array): void {
    this.#queue.push(packet);
    this.#queuedBytes += packet.length;
    this.#flush();
  }

  #flush(): void {
    const socket = this.#socket;
    while (socket && this.#queue.length > 0 && this.#writable > 0 && this.#state !== "closed") {
      const packet = this.#queue[0] as Uint8Array;
      const count = Math.min(packet.length - this.#queueAt, this.#writable);
      // a whole packet goes as its own buffer (the encoders size it exactly): no copy per write
      const whole = this.#queueAt === 0 && count === packet.length && packet.byteOffset === 0 && packet.buffer.byteLength === count;
      const piece = whole ? (packet.buffer as ArrayBuffer) : (packet.slice(this.#queueAt, this.#queueAt + count).buffer as ArrayBuffer);
      let room: number | undefined;
      try {
        room = socket.write(piece);
      } catch (error) {
        if (errorText(error).includes("would block")) {
          this.#writable = 0; // the socket's room shrank under us: wait for onWritable
          return;
        }
        return this.#lose(`socket write: ${errorText(error)}`);
      }
      if (room === undefined) return; // the socket has failed; its onError follows
      this.#writable = room;
      this.#lastSentMs = this.#options.timers.nowMs();
      this.#queueAt += count;
      this.#queuedBytes -= count;
      if (this.#queueAt === packet.length) {
        this.#queue.shift();
        this.#queueAt = 0;
      }
    }
  }

  #awaitReply(): void {
    if (this.#awaiting === 0) this.#awaitingSinceMs = this.#options.timers.nowMs();
    this.#awaiting++;
  }

  #answered(): void {
    if (this.#awaiting > 0) this.#awaiting--;
  }

  #startKeepAlive(): void {
    const keepAliveMs = this.#options.keepAliveMs;
    if (keepAliveMs <= 0) return;
    const now = this.#options.timers.nowMs();
    this.#lastSentMs = now;
    this.#lastReceivedMs = now;
    const tick = () => {
      this.#keepAliveTimer = undefined;
      if (this.#state !== "connected") return;
      const nowMs = this.#options.timers.nowMs();
      const heardMs = Math.max(this.#lastReceivedMs, this.#awaitingSinceMs);
      if (this.#awaiting > 0 && nowMs - heardMs >= (keepAliveMs * 3) / 4) {
        return this.#lose(`keepalive: no answer from the broker for ${Math.round(nowMs - heardMs)} ms`);
      }
      if (!this.#pingOutstanding && nowMs - this.#lastSentMs >= keepAliveMs / 4) {
        this.#pingOutstanding = true;
        this.#awaitReply();
        this.#send(encodePingreq());
      }
      this.#keepAliveTimer = this.#options.timers.set(tick, keepAliveMs / 8);
    };
    this.#keepAliveTimer = this.#options.timers.set(tick, keepAliveMs / 8);
  }

  #stopKeepAlive(): void {
    if (this.#keepAliveTimer !== undefined) this.#options.timers.clear(this.#keepAliveTimer);
    this.#keepAliveTimer = undefined;
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
