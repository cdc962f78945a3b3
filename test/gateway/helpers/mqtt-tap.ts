// An observing TCP tap (a stand-in used ONLY to see what a real part puts on the wire): sits
// between an MQTT client and the real broker, forwards every byte unchanged, and parses both
// directions with mqtt-packet, so a test can see which PUBACK left on which connection and when.
// freeze() stops forwarding without closing anything (a broker that hangs).
import { createServer, connect, type Server, type Socket } from "node:net";
import mqttPacket, { type Packet } from "mqtt-packet";

export interface TappedPacket {
  /** 1 for the first connection through the tap, 2 for the next, ... */
  connection: number;
  /** up: client -> broker; down: broker -> client */
  direction: "up" | "down";
  packet: Packet;
}

export class MqttTap {
  readonly packets: TappedPacket[] = [];
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #connections = 0;
  #frozen = false;
  port = 0;

  private constructor(readonly targetPort: number) {
    this.#server = createServer((client) => this.#accept(client));
  }

  static async start(targetPort: number): Promise<MqttTap> {
    const tap = new MqttTap(targetPort);
    await new Promise<void>((resolve) => tap.#server.listen(0, "127.0.0.1", resolve));
    const address = tap.#server.address();
    tap.port = typeof address === "object" && address ? address.port : 0;
    return tap;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  get connections(): number {
    return this.#connections;
  }

  /** Packets of one kind (and optionally one connection and direction), in wire order. */
  of(cmd: string, filter: { connection?: number; direction?: "up" | "down" } = {}): Packet[] {
    return this.packets
      .filter((p) => p.packet.cmd === cmd && (filter.connection === undefined || p.connection === filter.connection) && (filter.direction === undefined || p.direction === filter.direction))
      .map((p) => p.packet);
  }

  /** Packet ids of the PUBACKs the client sent (on one connection, or all). */
  pubackIds(connection?: number): number[] {
    return this.of("puback", { direction: "up", ...(connection === undefined ? {} : { connection }) }).map((p) => p.messageId as number);
  }

  /** Packet ids of the PUBLISHes the broker sent (on one connection, or all). */
  publishIds(connection?: number): number[] {
    return this.of("publish", { direction: "down", ...(connection === undefined ? {} : { connection }) }).map((p) => p.messageId as number);
  }

  freeze(): void {
    this.#frozen = true;
  }

  #accept(client: Socket): void {
    const connection = ++this.#connections;
    const upstream = connect({ host: "127.0.0.1", port: this.targetPort });
    // the broker's packets are parsed in the protocol version of the client's CONNECT
    let down = mqttPacket.parser({ protocolVersion: 5 });
    const up = mqttPacket.parser({ protocolVersion: 5 });
    const record = (direction: "up" | "down") => (packet: Packet) => this.packets.push({ connection, direction, packet });
    up.on("packet", (packet: Packet) => {
      if (packet.cmd === "connect") {
        down = mqttPacket.parser({ protocolVersion: packet.protocolVersion ?? 4 });
        down.on("packet", record("down"));
        down.on("error", () => undefined);
      }
      record("up")(packet);
    });
    up.on("error", () => undefined);
    for (const [from, to, direction] of [
      [client, upstream, "up"],
      [upstream, client, "down"],
    ] as const) {
      this.#sockets.add(from);
      from.on("close", () => this.#sockets.delete(from));
      from.on("error", () => undefined);
      from.on("close", () => to.destroy());
      from.on("data", (data: Buffer) => {
        if (this.#frozen) return;
        (direction === "up" ? up : down).parse(data);
        to.write(data);
      });
    }
  }

  /** Cuts every connection through the tap (the client sees its connection lost). */
  cut(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
