// One MQTT 5 connection of the intake: a socket (node:net or node:tls), mqtt-packet's parser() for
// what arrives and its generate() for what leaves, the in-order PUBACK queue, and keepalive. The
// reconnects, subscriptions and outgoing publishes live in mqtt5-client.ts; a Mqtt5Connection is
// used once and thrown away when its socket closes, so nothing of an old connection (a packet id,
// an ack) can reach a new one.
//
// Acknowledgement: each QoS 1 PUBLISH gets a slot in arrival order and is delivered with an
// ack(). The PUBACK leaves only once ack() was called, and only when every earlier message of the
// connection has been acked too (MQTT 5 §4.6: PUBACKs in the order the PUBLISHes arrived), so an
// intake that acks out of order still sends in order. The PUBACKs acked in one turn are written
// as one buffer, a microtask after the first ack (per-packet writes cost about a fifth of the
// gateway's CPU in the bench). An ack() after the connection closed is dropped: the broker
// redelivers that message on the next connection (and the buffer's dedupe keeps it from being
// stored twice).
//
// Flow control: the CONNECT announces Receive Maximum, so the broker never has more unacked
// QoS 1 messages in flight to us; reading never waits for acks (the pump keeps going while
// commits are pending, up to that bound). A broker that sends more anyway is not disconnected
// (Mosquitto 2.0.11 keeps the bound for the first window only, then sends its whole queue at the
// next PUBACK, and would do so again after every reconnect): every message beyond the bound is
// taken as any other and counted (receiveMaximumExceeded), so the excess is visible in metrics.
//
// Fairness: a broker's backlog arrives as fast as the socket can be read; without a pause ~16,000
// messages (150-350 ms) were handled in one turn of the event loop while timers, the sink's
// replies and /metrics waited. After YIELD_EVERY_MESSAGES messages the socket is paused for one
// turn (setImmediate); the chunk already read is finished first (a 64 KiB read holds < 400
// telemetry messages).
//
// Keepalive: a PINGREQ when nothing was sent or received for half the keepalive; the connection
// counts as lost (socket destroyed) when a PINGREQ had no answer, and nothing else arrived, for a
// whole keepalive.
import { EventEmitter } from "node:events";
import * as net from "node:net";
import * as tls from "node:tls";
import mqttPacket, { type IConnackPacket, type IConnectPacket, type IPublishPacket, type Packet } from "mqtt-packet";

/** see "Fairness" in the header comment */
export const YIELD_EVERY_MESSAGES = 1000;

const NOOP = () => {};

export interface Mqtt5Endpoint {
  /** mqtt://, tcp://, mqtts:// or tls:// */
  url: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export interface ConnectOptions {
  /** 5; 4 (MQTT 3.1.1) only for a broker that refused 5 (mqtt5-client.ts) */
  protocolVersion: 4 | 5;
  clientId: string;
  username?: string;
  password?: string;
  keepaliveS: number;
  sessionExpiryS: number;
  receiveMaximum: number;
}

export type DeliverFn = (topic: string, payload: Buffer, ack: () => void) => void;

/** Opens the socket for an endpoint: TLS (with the pinned CA and the client certificate) or TCP. */
export function openSocket(endpoint: Mqtt5Endpoint): net.Socket {
  const url = new URL(endpoint.url);
  const secure = url.protocol === "mqtts:" || url.protocol === "tls:";
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const port = url.port ? Number(url.port) : secure ? 8883 : 1883;
  if (!secure) return net.connect({ host, port, noDelay: true });
  const options: tls.ConnectionOptions = { host, port, rejectUnauthorized: true };
  if (!net.isIP(host)) options.servername = host;
  if (endpoint.ca) options.ca = endpoint.ca;
  if (endpoint.cert) options.cert = endpoint.cert;
  if (endpoint.key) options.key = endpoint.key;
  const socket = tls.connect(options);
  socket.setNoDelay(true);
  return socket;
}

/**
 * The PUBACK (reason code 0) of each packet id as mqtt-packet generates it, memoised: a PUBACK
 * depends only on its packet id, and generate() per message cost about 1 µs, a tenth of the
 * gateway's CPU per message in the bench. The codec's bytes of each id are kept in one slab
 * (65,535 ids x a fixed length: 256-384 KiB once every id was used); an id whose bytes do not have
 * the fixed length (never, with mqtt-packet 9) is generated each time.
 */
class PubackBytes {
  readonly #codec: { protocolVersion: 4 | 5 };
  readonly #size: number;
  readonly #slab: Buffer;
  readonly #known = new Uint8Array(0x10000);

  constructor(protocolVersion: 4 | 5) {
    this.#codec = { protocolVersion };
    this.#size = this.#generate(1).length;
    this.#slab = Buffer.alloc(this.#size * 0x10000);
  }

  #generate(messageId: number): Buffer {
    return mqttPacket.generate({ cmd: "puback", messageId }, this.#codec);
  }

  /** The PUBACKs of ids[from..to), in that order, as one buffer. */
  concat(ids: number[], from: number, to: number): Buffer {
    const size = this.#size;
    const out = Buffer.allocUnsafe((to - from) * size);
    let at = 0;
    for (let i = from; i < to; i++) {
      const id = ids[i] as number;
      if (this.#known[id] === 0) {
        const bytes = this.#generate(id);
        if (bytes.length !== size) return Buffer.concat(ids.slice(from, to).map((each) => this.#generate(each)));
        bytes.copy(this.#slab, id * size);
        this.#known[id] = 1;
      }
      // a byte loop: Buffer#copy costs more than copying 4-6 bytes
      for (let k = id * size, end = k + size; k < end; k++) out[at++] = this.#slab[k] as number;
    }
    return out;
  }
}

const pubackCache = new Map<4 | 5, PubackBytes>();
function pubackBytes(protocolVersion: 4 | 5): PubackBytes {
  let bytes = pubackCache.get(protocolVersion);
  if (!bytes) {
    bytes = new PubackBytes(protocolVersion);
    pubackCache.set(protocolVersion, bytes);
  }
  return bytes;
}

/**
 * Events: "connack" (packet), "packet" (any packet other than PUBLISH, after "packetreceive"),
 * "packetreceive" (every packet), "error", "close" (once).
 */
export class Mqtt5Connection extends EventEmitter {
  readonly socket: net.Socket;
  readonly #codec: { protocolVersion: 4 | 5 };
  readonly #parser: ReturnType<typeof mqttPacket.parser>;
  readonly #pubacks: PubackBytes;
  #closed = false;
  /** destroyed or closed: nothing more is delivered, acked or sent */
  #dead = false;
  // the ack queue: packet ids in arrival order from `#head`, whether each is acked, and the
  // absolute slot number of ids[0]
  #ids: number[] = [];
  #acked: boolean[] = [];
  #head = 0;
  #base = 0;
  #flushScheduled = false;
  #sinceYield = 0;
  #paused = false;
  #keepaliveMs: number;
  #keepaliveTimer: NodeJS.Timeout | undefined;
  #lastSentMs = Date.now();
  #lastReceivedMs = Date.now();
  #pingSentMs = 0;
  #unacked = 0;
  /** QoS 1 messages that arrived while Receive Maximum others were unacked (the broker's fault) */
  receiveMaximumExceeded = 0;

  constructor(
    endpoint: Mqtt5Endpoint,
    private readonly connect: ConnectOptions,
    private readonly deliver: DeliverFn,
  ) {
    super();
    this.#codec = { protocolVersion: connect.protocolVersion };
    this.#parser = mqttPacket.parser(this.#codec);
    this.#pubacks = pubackBytes(connect.protocolVersion);
    this.#keepaliveMs = connect.keepaliveS * 1000;
    this.socket = openSocket(endpoint);
    const secure = this.socket instanceof tls.TLSSocket;
    this.socket.once(secure ? "secureConnect" : "connect", () => this.#sendConnect());
    this.socket.on("data", (chunk: Buffer) => this.#read(chunk));
    this.socket.on("error", (error) => this.emit("error", error));
    this.socket.on("close", () => this.#onClose());
    this.#parser.on("packet", (packet: Packet) => this.#onPacket(packet));
    this.#parser.on("error", (error: Error) => {
      this.emit("error", new Error(`malformed packet from the broker: ${error.message}`));
      this.destroy();
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** QoS 1 messages received and not yet acknowledged on the wire. */
  get unacked(): number {
    return this.#unacked;
  }

  send(packet: Packet): void {
    if (this.#dead) return;
    this.#lastSentMs = Date.now();
    this.socket.write(mqttPacket.generate(packet, this.#codec));
  }

  /** Ends the connection now; what is not acknowledged yet is redelivered by the broker. */
  destroy(): void {
    this.#dead = true;
    this.socket.destroy();
  }

  /** Writes the acked PUBACKs now, then DISCONNECT (normal), and ends the socket. */
  disconnect(): void {
    this.#flushAcks();
    this.send(this.connect.protocolVersion === 5 ? { cmd: "disconnect", reasonCode: 0 } : { cmd: "disconnect" });
    this.socket.end();
  }

  /** Starts keepalive (after CONNACK; the broker may have set its own keepalive). */
  startKeepalive(keepaliveS: number): void {
    this.#keepaliveMs = keepaliveS * 1000;
    if (this.#keepaliveMs <= 0 || this.#dead) return;
    this.#keepaliveTimer = setInterval(() => this.#checkKeepalive(), Math.max(50, this.#keepaliveMs / 4));
    this.#keepaliveTimer.unref();
  }

  #sendConnect(): void {
    const packet: IConnectPacket = {
      cmd: "connect",
      protocolId: "MQTT",
      protocolVersion: this.connect.protocolVersion,
      clean: false,
      clientId: this.connect.clientId,
      keepalive: this.connect.keepaliveS,
    };
    if (this.connect.protocolVersion === 5) packet.properties = { sessionExpiryInterval: this.connect.sessionExpiryS, receiveMaximum: this.connect.receiveMaximum };
    if (this.connect.username !== undefined) packet.username = this.connect.username;
    if (this.connect.password !== undefined) packet.password = Buffer.from(this.connect.password);
    this.send(packet);
  }

  #read(chunk: Buffer): void {
    this.#lastReceivedMs = Date.now();
    this.#parser.parse(chunk);
    if (this.#sinceYield >= YIELD_EVERY_MESSAGES && !this.#paused && !this.#dead) {
      this.#sinceYield = 0;
      this.#paused = true;
      this.socket.pause();
      setImmediate(() => {
        this.#paused = false;
        if (!this.#closed) this.socket.resume();
      });
    }
  }

  #onPacket(packet: Packet): void {
    if (this.#dead) return;
    this.emit("packetreceive", packet);
    if (packet.cmd === "publish") return this.#onPublish(packet);
    if (packet.cmd === "pingresp") this.#pingSentMs = 0;
    else if (packet.cmd === "connack") this.emit("connack", packet as IConnackPacket);
    this.emit("packet", packet);
  }

  #onPublish(packet: IPublishPacket): void {
    this.#sinceYield++;
    const payload = typeof packet.payload === "string" ? Buffer.from(packet.payload) : packet.payload;
    if (packet.qos === 0 || packet.messageId === undefined) {
      this.deliver(packet.topic, payload, NOOP);
      return;
    }
    if (packet.qos === 2) {
      // never granted: the subscriptions are QoS 1
      this.emit("error", new Error(`QoS 2 message on ${packet.topic} although only QoS 1 was granted; connection dropped`));
      this.destroy();
      return;
    }
    if (this.#unacked >= this.connect.receiveMaximum && this.connect.protocolVersion === 5) {
      this.receiveMaximumExceeded++;
      this.emit("receiveMaximumExceeded");
    }
    const slot = this.#base + this.#ids.length;
    this.#ids.push(packet.messageId);
    this.#acked.push(false);
    this.#unacked++;
    this.deliver(packet.topic, payload, () => this.#ack(slot));
  }

  #ack(slot: number): void {
    if (this.#dead) return; // the broker redelivers it on the next connection
    const index = slot - this.#base;
    if (index < this.#head || index >= this.#acked.length || this.#acked[index]) return;
    this.#acked[index] = true;
    if (!this.#flushScheduled && index === this.#head) {
      this.#flushScheduled = true;
      queueMicrotask(() => this.#flushAcks());
    }
  }

  /** Writes the PUBACKs of the acked prefix of the queue as one buffer. */
  #flushAcks(): void {
    this.#flushScheduled = false;
    if (this.#dead) return;
    const from = this.#head;
    let to = from;
    while (to < this.#acked.length && this.#acked[to]) to++;
    if (to === from) return;
    const out = this.#pubacks.concat(this.#ids, from, to);
    this.#head = to;
    this.#unacked -= to - from;
    if (to === this.#acked.length) {
      this.#base += to;
      this.#ids = [];
      this.#acked = [];
      this.#head = 0;
    } else if (to > 4096) {
      this.#base += to;
      this.#ids = this.#ids.slice(to);
      this.#acked = this.#acked.slice(to);
      this.#head = 0;
    }
    this.#lastSentMs = Date.now();
    this.socket.write(out);
  }

  #checkKeepalive(): void {
    const now = Date.now();
    if (this.#pingSentMs !== 0) {
      if (now - this.#pingSentMs >= this.#keepaliveMs && now - this.#lastReceivedMs >= this.#keepaliveMs) {
        this.emit("error", new Error(`no PINGRESP within the keepalive (${this.#keepaliveMs} ms): connection lost`));
        this.destroy();
      }
      return;
    }
    const half = this.#keepaliveMs / 2;
    if (now - this.#lastSentMs >= half || now - this.#lastReceivedMs >= half) {
      this.#pingSentMs = now;
      this.send({ cmd: "pingreq" });
    }
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#dead = true;
    if (this.#keepaliveTimer) clearInterval(this.#keepaliveTimer);
    this.#ids = [];
    this.#acked = [];
    this.emit("close");
  }
}
