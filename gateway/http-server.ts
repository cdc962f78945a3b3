// /metrics (Prometheus text) and /healthz (200 while the buffer is open, takes commits and the
// broker is connected, 503 otherwise, with the reason as JSON) on a small node:http server.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface HealthReport {
  ok: boolean;
  [key: string]: unknown;
}

export interface OpsEndpoints {
  metrics(): Promise<string>;
  contentType: string;
  health(): HealthReport;
  /** more routes (gateway/ota/ota-http.ts): returns true when it answered the request */
  routes?: (request: IncomingMessage, response: ServerResponse, path: string) => boolean;
}

export class OpsServer {
  readonly #server: Server;

  constructor(private readonly endpoints: OpsEndpoints) {
    this.#server = createServer((request, response) => {
      const path = (request.url ?? "/").split("?")[0];
      if (this.endpoints.routes?.(request, response, path ?? "/")) return;
      if (request.method !== "GET") {
        response.writeHead(405, { allow: "GET" }).end();
        return;
      }
      if (path === "/metrics") {
        this.endpoints.metrics().then(
          (text) => response.writeHead(200, { "content-type": this.endpoints.contentType }).end(text),
          (error: Error) => response.writeHead(500, { "content-type": "text/plain" }).end(error.message),
        );
        return;
      }
      if (path === "/healthz") {
        const report = this.endpoints.health();
        response.writeHead(report.ok ? 200 : 503, { "content-type": "application/json" }).end(JSON.stringify(report));
        return;
      }
      response.writeHead(404, { "content-type": "text/plain" }).end("not found: try /metrics or /healthz\n");
    });
  }

  async listen(port: number, host: string): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(port, host, () => resolve());
    });
    return (this.#server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
