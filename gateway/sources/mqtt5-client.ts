// The intake's own MQTT 5 client, on mqtt-packet (the MQTT.js maintainers' codec, used through its
// documented parser() and generate() only). Why not MQTT.js: its packet pump handles the next
// incoming packet only after the PUBACK of the previous one was sent (customHandleAcks and
// handleMessage both sit before the PUBACK in the pump), so holding a PUBACK until a commit
// serialises the intake to one message per commit; skipping its PUBACK needs undocumented
// behaviour. See the README ("Source").
//
// Behaviour:
// - CONNECT: MQTT 5, clean start false, a fixed client id, Session Expiry Interval
//   (default 0xFFFFFFFF: the session never expires, as clean: false did in MQTT 3.1.1), Receive
//   Maximum (the broker's bound on unacked QoS 1 messages in flight to us), keepalive.
// - Connect timeout connectTimeoutMs; then reconnects with exponential backoff from reconnectMs to
//   reconnectMaxMs, with jitter (half to all of the delay); the backoff restarts after a CONNACK.
// - A broker that does not speak MQTT 5 (it answers CONNACK with MQTT 3.1.1's "unacceptable
//   protocol version", as the demo's embedded aedes does) is spoken to in MQTT 3.1.1 from then on
//   ("protocolFallback" event): clean session false (the session never expires), no Receive
//   Maximum (the broker's max_inflight_messages bounds us), PUBACKs still only after ack().
// - Subscribes again on every connect (a broker that lost its state has no session), QoS 1; a
//   refused subscription is an "error" event.
// - Delivers QoS 1 messages with an ack() (mqtt5-connection.ts: in-order PUBACKs, never on a later
//   connection).
// - Outgoing QoS 1 publishes (the gateway's local alerts and events): queued while disconnected
//   (up to MAX_QUEUED_PUBLISHES, then the oldest fails), at most the broker's Receive Maximum in
//   flight, resent with DUP on the next connection until their PUBACK.
// Events: "connect" (CONNACK), "close", "error", "packetreceive" (every packet),
// "receiveMaximumExceeded" (a QoS 1 message beyond our Receive Maximum, see mqtt5-connection.ts).
import { EventEmitter } from "node:events";
import type { IConnackPacket, IPublishPacket, ISubackPacket, Packet } from "mqtt-packet";
import { Mqtt5Connection, type ConnectOptions, type DeliverFn, type Mqtt5Endpoint } from "./mqtt5-connection.js";

export interface Mqtt5ClientOptions extends Mqtt5Endpoint, Omit<ConnectOptions, "protocolVersion"> {
  /** topic filters, subscribed at QoS 1 on every connect (shared ones as $share/<group>/<filter>) */
  subscriptions: string[];
  reconnectMs: number;
  reconnectMaxMs: number;
  connectTimeoutMs: number;
}

export const MAX_QUEUED_PUBLISHES = 10_000;
const MAX_PACKET_ID = 0xffff;

type PublishCallback = (error?: Error) => void;
interface Outgoing {
  packet: IPublishPacket;
  callback: PublishCallback;
}

export class Mqtt5Client extends EventEmitter {
  #connection: Mqtt5Connection | undefined;
  #connected = false;
  #protocolVersion: 4 | 5 = 5;
  #ended = false;
  #attempt = 0;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #connectTimer: NodeJS.Timeout | undefined;
  #nextId = 0;
  #subscribeId = 0;
  #serverReceiveMaximum = MAX_PACKET_ID;
  /** sent, waiting for their PUBACK, by packet id (insertion order = send order) */
  #inFlight = new Map<number, Outgoing>();
  #queued: Outgoing[] = [];

  constructor(
    private readonly options: Mqtt5ClientOptions,
    private readonly deliver: DeliverFn,
  ) {
    super();
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** 5, or 4 after a broker refused MQTT 5 */
  get protocolVersion(): 4 | 5 {
    return this.#protocolVersion;
  }

  /** QoS 1 messages received and not yet acknowledged on the wire (0 while disconnected). */
  get unacked(): number {
    return this.#connection?.unacked ?? 0;
  }

  /** The live connection (tests: its unacked count, its socket). */
  get connection(): Mqtt5Connection | undefined {
    return this.#connection;
  }

  connect(): void {
    if (this.#ended || this.#connection) return;
    const connection = new Mqtt5Connection(this.options, { ...this.options, protocolVersion: this.#protocolVersion }, this.deliver);
    this.#connection = connection;
    this.#connectTimer = setTimeout(() => {
      this.emit("error", new Error(`no CONNACK within ${this.options.connectTimeoutMs} ms`));
      connection.destroy();
    }, this.options.connectTimeoutMs);
    connection.on("packetreceive", (packet: Packet) => this.emit("packetreceive", packet));
    connection.on("connack", (packet: IConnackPacket) => this.#onConnack(connection, packet));
    connection.on("packet", (packet: Packet) => this.#onPacket(packet));
    connection.on("error", (error: Error) => this.emit("error", error));
    connection.on("receiveMaximumExceeded", () => this.emit("receiveMaximumExceeded"));
    connection.on("close", () => this.#onClose(connection));
  }

  /** Drops the connection (the broker redelivers what is unacked) and reconnects. */
  reconnect(): void {
    this.#connection?.destroy();
  }

  publish(topic: string, payload: Buffer, callback: PublishCallback = () => {}): void {
    if (this.#ended) return callback(new Error("client ended"));
    if (this.#queued.length >= MAX_QUEUED_PUBLISHES) this.#queued.shift()?.callback(new Error("publish queue full: oldest publish dropped"));
    this.#queued.push({ packet: { cmd: "publish", topic, payload, qos: 1, retain: false, dup: false }, callback });
    this.#sendQueued();
  }

  /** Sends DISCONNECT after the acked PUBACKs and stops reconnecting; resolves once closed. */
  async end(): Promise<void> {
    this.#ended = true;
    clearTimeout(this.#reconnectTimer);
    const connection = this.#connection;
    const failed = new Error("client ended");
    for (const outgoing of [...this.#inFlight.values(), ...this.#queued]) outgoing.callback(failed);
    this.#inFlight.clear();
    this.#queued = [];
    if (!connection || connection.closed) return;
    const closed = new Promise<void>((resolve) => connection.once("close", resolve));
    if (this.#connected) connection.disconnect();
    else connection.destroy();
    const timer = setTimeout(() => connection.destroy(), 2000);
    await closed;
    clearTimeout(timer);
  }

  #onConnack(connection: Mqtt5Connection, packet: IConnackPacket): void {
    clearTimeout(this.#connectTimer);
    const code = packet.reasonCode ?? packet.returnCode ?? 0;
    // 1: MQTT 3.1.1's "unacceptable protocol version" (not an MQTT 5 reason code); 0x84: MQTT 5's
    if (this.#protocolVersion === 5 && (code === 1 || code === 0x84)) {
      this.#protocolVersion = 4;
      this.#attempt = 0;
      this.emit("protocolFallback", code);
      connection.destroy();
      return;
    }
    if (code !== 0) {
      this.emit("error", new Error(`broker refused the connection (CONNACK reason code ${code})`));
      connection.destroy();
      return;
    }
    this.#attempt = 0;
    this.#connected = true;
    this.#serverReceiveMaximum = packet.properties?.receiveMaximum ?? MAX_PACKET_ID;
    connection.startKeepalive(packet.properties?.serverKeepAlive ?? this.options.keepaliveS);
    if (this.options.subscriptions.length > 0) {
      this.#subscribeId = this.#allocateId();
      connection.send({
        cmd: "subscribe",
        messageId: this.#subscribeId,
        subscriptions: this.options.subscriptions.map((topic) => (this.#protocolVersion === 5 ? { topic, qos: 1 as const, nl: false, rap: false, rh: 0 } : { topic, qos: 1 as const })),
      });
    }
    // unacknowledged publishes of the previous connection first, in their order, then the queue
    for (const outgoing of this.#inFlight.values()) connection.send({ ...outgoing.packet, dup: true });
    this.emit("connect", packet);
    this.#sendQueued();
  }

  #onPacket(packet: Packet): void {
    if (packet.cmd === "puback") {
      const outgoing = this.#inFlight.get(packet.messageId as number);
      if (!outgoing) return;
      this.#inFlight.delete(packet.messageId as number);
      const code = packet.reasonCode ?? 0;
      outgoing.callback(code < 0x80 ? undefined : new Error(`broker refused the publish to ${outgoing.packet.topic} (PUBACK reason code ${code})`));
      this.#sendQueued();
    } else if (packet.cmd === "suback") {
      const granted = (packet as ISubackPacket).granted as number[];
      const refused = this.options.subscriptions.filter((_, i) => (granted[i] ?? 0x80) >= 0x80);
      if (refused.length > 0) this.emit("error", new Error(`subscription refused: ${refused.join(", ")} (SUBACK ${granted.join(",")})`));
    } else if (packet.cmd === "disconnect") {
      this.emit("error", new Error(`broker disconnected us (reason code ${packet.reasonCode ?? 0})`));
    }
  }

  #sendQueued(): void {
    const connection = this.#connection;
    if (!this.#connected || !connection) return;
    while (this.#queued.length > 0 && this.#inFlight.size < this.#serverReceiveMaximum) {
      const outgoing = this.#queued.shift() as Outgoing;
      outgoing.packet.messageId = this.#allocateId();
      this.#inFlight.set(outgoing.packet.messageId, outgoing);
      connection.send(outgoing.packet);
    }
  }

  /** The next packet id not waiting for a PUBACK. */
  #allocateId(): number {
    for (;;) {
      this.#nextId = this.#nextId >= MAX_PACKET_ID ? 1 : this.#nextId + 1;
      if (!this.#inFlight.has(this.#nextId)) return this.#nextId;
    }
  }

  #onClose(connection: Mqtt5Connection): void {
    if (this.#connection !== connection) return;
    clearTimeout(this.#connectTimer);
    this.#connection = undefined;
    const wasConnected = this.#connected;
    this.#connected = false;
    this.emit("close", wasConnected);
    if (this.#ended) return;
    const delay = Math.min(this.options.reconnectMaxMs, this.options.reconnectMs * 2 ** Math.min(this.#attempt, 20));
    this.#attempt++;
    this.#reconnectTimer = setTimeout(() => this.connect(), delay / 2 + Math.random() * (delay / 2));
  }
}
