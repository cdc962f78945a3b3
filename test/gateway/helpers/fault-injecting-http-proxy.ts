// A fault-injecting HTTP proxy (a stand-in used ONLY to inject faults a real part cannot produce on
// demand) between the gateway's sink and the REAL ingest service (cloud/app.ts build()). It
// forwards every request unchanged, or, as `mode` decides per request:
// - "envelope-version": rewrites the batch envelope's payload version before forwarding, so the real
//   service itself refuses the envelope (its own 400 VW_UNKNOWN_VERSION reply reaches the gateway):
//   what a gateway sees from an ingest service upgraded to a contract version it does not speak;
// - "html": answers itself with an HTML page and the given status, as a misconfigured reverse proxy
//   (400) or a load balancer with no healthy backend (502) does: a reply with no error code.
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { gunzipSync } from "node:zlib";
import { cborDecoder, cborEncoder } from "../../../protocol/schema/validate.js";

export type ProxyMode = { kind: "forward" } | { kind: "envelope-version"; version: number } | { kind: "html"; status: number };

export class FaultInjectingHttpProxy {
  /** decides each request's fate, from its number (1, 2, ...); default: forward unchanged */
  mode: (request: number) => ProxyMode = () => ({ kind: "forward" });
  /** requests by mode, and the replies relayed from the real service by `status code` */
  readonly served = new Map<string, number>();
  readonly relayed = new Map<string, number>();
  /** records in each batch a fault was injected into (a split shows as batches of one) */
  readonly faultedBatchSizes: number[] = [];
  requests = 0;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #target: URL;
  #port = 0;

  private constructor(targetUrl: string) {
    this.#target = new URL(targetUrl);
    this.#server = createServer((request, response) => void this.#handle(request, response));
    this.#server.on("connection", (socket) => {
      this.#sockets.add(socket);
      socket.once("close", () => this.#sockets.delete(socket));
    });
  }

  static async start(targetUrl: string): Promise<FaultInjectingHttpProxy> {
    const proxy = new FaultInjectingHttpProxy(targetUrl);
    await new Promise<void>((resolve) => proxy.#server.listen(0, "127.0.0.1", resolve));
    const address = proxy.#server.address();
    proxy.#port = typeof address === "object" && address ? address.port : 0;
    return proxy;
  }

  /** the URL to give the gateway: the same path as the target's */
  get url(): string {
    return `http://127.0.0.1:${this.#port}${this.#target.pathname}`;
  }

  #count(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    let body = Buffer.concat(chunks);
    const mode = this.mode(++this.requests);
    this.#count(this.served, mode.kind === "html" ? `html_${mode.status}` : mode.kind);
    if (mode.kind !== "forward") {
      const plain = request.headers["content-encoding"] === "gzip" ? gunzipSync(body) : body;
      this.faultedBatchSizes.push(((cborDecoder.decode(plain) as { recs?: unknown[] }).recs ?? []).length);
    }
    if (mode.kind === "html") {
      response.writeHead(mode.status, { "content-type": "text/html" }).end(`<html><head><title>${mode.status}</title></head><body><center><h1>${mode.status}</h1></center><hr><center>nginx</center></body></html>\n`);
      return;
    }
    const headers: Record<string, string> = {};
    for (const name of ["authorization", "content-type", "content-encoding", "accept"]) {
      const value = request.headers[name];
      if (typeof value === "string") headers[name] = value;
    }
    if (mode.kind === "envelope-version") {
      const plain = headers["content-encoding"] === "gzip" ? gunzipSync(body) : body;
      const batch = cborDecoder.decode(plain) as Record<string, unknown>;
      body = Buffer.from(cborEncoder.encode({ ...batch, v: mode.version }) as Uint8Array);
      delete headers["content-encoding"];
    }
    headers["content-length"] = String(body.length);
    const upstream = httpRequest(this.#target, { method: request.method ?? "POST", headers }, (reply) => {
      const replyChunks: Buffer[] = [];
      reply.on("data", (chunk: Buffer) => replyChunks.push(chunk));
      reply.on("end", () => {
        const replyBody = Buffer.concat(replyChunks);
        let code = "";
        if (reply.statusCode !== 200) {
          try {
            code = String((JSON.parse(replyBody.toString("utf8")) as { code?: unknown }).code ?? "");
          } catch {
            code = "(no json)";
          }
        }
        this.#count(this.relayed, `${reply.statusCode} ${code}`.trim());
        const replyHeaders: Record<string, string> = {};
        for (const name of ["content-type", "retry-after"]) {
          const value = reply.headers[name];
          if (typeof value === "string") replyHeaders[name] = value;
        }
        response.writeHead(reply.statusCode ?? 502, replyHeaders).end(replyBody);
      });
      reply.on("error", () => response.destroy());
    });
    upstream.on("error", () => response.destroy());
    upstream.end(body);
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }
}
