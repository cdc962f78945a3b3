// A stand-in, used ONLY to inject a fault no real part produces on demand: a TCP relay whose
// freeze() stops carrying bytes both ways while every connection stays open (a switch that drops
// packets, a half-dead link: no reset, no close, just silence). thaw() carries on; connections
// opened while frozen are held silent too.
import { createServer, connect, type Server, type Socket } from "node:net";

export class SilentLinkStandIn {
  readonly #server: Server;
  readonly #pairs = new Set<[Socket, Socket]>();
  #frozen = false;
  port = 0;

  private constructor(readonly targetHost: string, readonly targetPort: number) {
    this.#server = createServer((client) => this.#accept(client));
  }

  static async start(targetHost: string, targetPort: number): Promise<SilentLinkStandIn> {
    const relay = new SilentLinkStandIn(targetHost, targetPort);
    await new Promise<void>((resolve) => relay.#server.listen(0, "127.0.0.1", resolve));
    const address = relay.#server.address();
    relay.port = typeof address === "object" && address ? address.port : 0;
    return relay;
  }

  #accept(client: Socket): void {
    const upstream = connect({ host: this.targetHost, port: this.targetPort });
    const pair: [Socket, Socket] = [client, upstream];
    this.#pairs.add(pair);
    // bytes that arrive while frozen are dropped, as a dead link would lose them
    client.on("data", (chunk: Buffer) => {
      if (!this.#frozen) upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (!this.#frozen) client.write(chunk);
    });
    for (const socket of pair) {
      socket.on("error", () => undefined);
      socket.on("close", () => {
        this.#pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      });
    }
  }

  freeze(): void {
    this.#frozen = true;
  }

  thaw(): void {
    this.#frozen = false;
  }

  /** connections the relay carries (or holds silent) now */
  get connections(): number {
    return this.#pairs.size;
  }

  async close(): Promise<void> {
    for (const [client, upstream] of this.#pairs) {
      client.destroy();
      upstream.destroy();
    }
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
