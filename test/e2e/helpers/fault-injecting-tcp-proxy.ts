// A fault-injecting TCP proxy (a stand-in used ONLY to inject a fault a real part cannot produce
// on demand): sits between the simulated devices and the real broker so a test can cut the
// devices' network for a while ("Wi-Fi gone") without touching the broker or the gateway, or
// cut a connection in the middle of a packet the broker is sending (cutDownstreamAfter).
import { createServer, connect, type Server, type Socket } from "node:net";

export class FaultInjectingTcpProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #cut = false;
  /** bytes broker -> client still forwarded before the connection is cut; undefined: no cut armed */
  #downstreamLeft: number | undefined;
  port = 0;

  private constructor(readonly targetHost: string, readonly targetPort: number) {
    this.#server = createServer((client) => this.#accept(client));
  }

  static async start(targetHost: string, targetPort: number): Promise<FaultInjectingTcpProxy> {
    const proxy = new FaultInjectingTcpProxy(targetHost, targetPort);
    await new Promise<void>((resolve) => proxy.#server.listen(0, "127.0.0.1", resolve));
    const address = proxy.#server.address();
    proxy.port = typeof address === "object" && address ? address.port : 0;
    return proxy;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  #accept(client: Socket): void {
    if (this.#cut) {
      client.destroy();
      return;
    }
    const upstream = connect({ host: this.targetHost, port: this.targetPort });
    for (const socket of [client, upstream]) {
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
      socket.on("error", () => undefined);
    }
    client.pipe(upstream);
    upstream.on("data", (data: Buffer) => {
      const left = this.#downstreamLeft;
      if (left === undefined || data.length < left) {
        if (left !== undefined) this.#downstreamLeft = left - data.length;
        client.write(data);
        return;
      }
      // forward exactly what is left, then cut both sides: the client sees a packet end mid-way
      this.#downstreamLeft = undefined;
      client.end(data.subarray(0, left), () => client.destroy());
      upstream.destroy();
    });
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  }

  /** drops every connection and refuses new ones until restore() */
  cut(): void {
    this.#cut = true;
    for (const socket of this.#sockets) socket.destroy();
  }

  /** the next `bytes` bytes from the broker are forwarded, then that connection is cut */
  cutDownstreamAfter(bytes: number): void {
    this.#downstreamLeft = bytes;
  }

  restore(): void {
    this.#cut = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
