// Issue 14, finding 5: the ingest service against clients that hold sockets open (a body trickled
// byte by byte, more sockets than the cap) and HTTP that Node's own parser refuses (431, bad
// framing). A real listening server and raw node:net clients: inject() has no sockets.
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { build } from "../../cloud/app.js";
import { EmbeddedStore } from "../../cloud/storage/embedded-store.js";
import type { BatchReply, ErrorReply } from "../../protocol/batch.js";
import { cborEncoder } from "../../protocol/schema/validate.js";
import { makeBatch, makeTokens, teleRecord, testConfig, type Tokens } from "./helpers/ingest-fixture.js";

const REQUEST_TIMEOUT_MS = 600;
const MAX_CONNECTIONS = 4;

interface RawReply {
  /** every byte the server sent before it closed the connection */
  text: string;
  status: number | undefined;
  body: unknown;
}

function parseRaw(text: string): RawReply {
  const status = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1];
  const bodyText = text.slice(text.indexOf("\r\n\r\n") + 4);
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    body = undefined;
  }
  return { text, status: status === undefined ? undefined : Number(status), body };
}

/** A raw client: collects what the server sends until it closes the connection. */
class RawClient {
  readonly socket: Socket;
  readonly connected: Promise<void>;
  readonly closed: Promise<RawReply>;
  #received = "";
  #trickle: NodeJS.Timeout | undefined;

  constructor(port: number) {
    this.socket = connect({ port, host: "127.0.0.1" });
    this.socket.setEncoding("latin1");
    this.socket.on("data", (chunk: string) => (this.#received += chunk));
    this.connected = new Promise((resolve) => this.socket.once("connect", () => resolve()));
    this.closed = new Promise((resolve) => {
      this.socket.once("close", () => {
        clearInterval(this.#trickle);
        resolve(parseRaw(this.#received));
      });
    });
    // a reset by the server is a close too
    this.socket.on("error", () => undefined);
  }

  send(text: string): void {
    if (!this.socket.destroyed) this.socket.write(text, "latin1");
  }

  /** Sends one byte of body every `everyMs` (never the whole body). */
  trickle(everyMs: number): void {
    this.#trickle = setInterval(() => this.send("x"), everyMs);
  }

  destroy(): void {
    clearInterval(this.#trickle);
    this.socket.destroy();
  }
}

function postHead(token: string | null, contentLength: number | string, extra = ""): string {
  const auth = token === null ? "" : `Authorization: Bearer ${token}\r\n`;
  return `POST /v1/batches HTTP/1.1\r\nHost: ingest\r\nContent-Type: application/cbor\r\n${auth}Content-Length: ${contentLength}\r\n${extra}\r\n`;
}

async function until(condition: () => Promise<boolean> | boolean): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe("ingest against slow and malformed clients (issue 14)", () => {
  let tokens: Tokens;
  let app: FastifyInstance;
  let store: EmbeddedStore;
  let port: number;
  const clients: RawClient[] = [];
  const client = (): RawClient => {
    const raw = new RawClient(port);
    clients.push(raw);
    return raw;
  };

  beforeAll(async () => {
    tokens = await makeTokens();
    store = new EmbeddedStore({ path: ":memory:" });
    const config = testConfig(tokens, {
      connections: { requestTimeoutMs: REQUEST_TIMEOUT_MS, headersTimeoutMs: REQUEST_TIMEOUT_MS, idleTimeoutMs: 60_000, maxConnections: MAX_CONNECTIONS },
      unauthenticated: { maxRequests: 1000 },
    });
    app = await build({ config, writer: store });
    await app.listen({ host: "127.0.0.1", port: 0 });
    port = (app.server.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const raw of clients) raw.destroy();
    await app?.close();
    store?.close();
  });

  async function postOnce(): Promise<{ status: number; reply: BatchReply }> {
    const batch = makeBatch([teleRecord("slow-clients", 1)]);
    const response = await fetch(`http://127.0.0.1:${port}/v1/batches`, {
      method: "POST",
      headers: { "content-type": "application/cbor", authorization: `Bearer ${tokens.token}`, connection: "close" },
      body: Buffer.from(cborEncoder.encode(batch)),
    });
    return { status: response.status, reply: (await response.json()) as BatchReply };
  }

  it("times out an authenticated request whose body trickles in: 408 in the catalog's shape, connection closed", async () => {
    const slow = client();
    await slow.connected;
    slow.send(postHead(tokens.token, 100_000));
    slow.trickle(50);
    const reply = await slow.closed;
    expect(reply.status).toBe(408);
    expect(reply.body).toMatchObject({ statusCode: 408, code: "VW_REQUEST_TIMEOUT", error: "Request Timeout" } satisfies Partial<ErrorReply>);
  });

  it("closes an unauthenticated request whose body trickles in (answered 401 first), and one whose headers never end", async () => {
    const slowBody = client();
    const slowHeaders = client();
    await Promise.all([slowBody.connected, slowHeaders.connected]);
    slowBody.send(postHead(null, 100_000));
    slowBody.trickle(50);
    slowHeaders.send("POST /v1/batches HTTP/1.1\r\nHost: ingest\r\n");
    const headersTimer = setInterval(() => slowHeaders.send("X-Slow: 1\r\n"), 50);
    const [bodyReply, headersReply] = await Promise.all([slowBody.closed, slowHeaders.closed]);
    clearInterval(headersTimer);
    expect(bodyReply.status).toBe(401);
    expect(headersReply.status).toBe(408);
    expect(headersReply.body).toMatchObject({ statusCode: 408, code: "VW_REQUEST_TIMEOUT" });
  });

  it("holds the connection cap against trickling sockets, and lets a gateway in once they are cut", async () => {
    const tricklers = Array.from({ length: MAX_CONNECTIONS }, () => client());
    await Promise.all(tricklers.map((raw) => raw.connected));
    for (const raw of tricklers) {
      raw.send(postHead(tokens.token, 100_000));
      raw.trickle(50);
    }
    await until(async () => (await new Promise<number>((resolve) => app.server.getConnections((_e, count) => resolve(count)))) >= MAX_CONNECTIONS);
    // one over the cap: closed at accept, never answered
    const extra = client();
    extra.send(postHead(tokens.token, 0));
    const extraReply = await extra.closed;
    expect(extraReply.text).toBe("");
    // the trickling sockets are cut by the request timeout...
    const cut = await Promise.all(tricklers.map((raw) => raw.closed));
    for (const reply of cut) expect(reply.status).toBe(408);
    // ...and an authenticated gateway gets through
    const { status, reply } = await postOnce();
    expect(status).toBe(200);
    expect(reply.rejected).toEqual([]);
    const metrics = await app.inject({ method: "GET", url: "/metrics" });
    expect(metrics.body).toMatch(/^vw_ingest_connections_dropped_total [1-9]/m);
    expect(metrics.body).toMatch(/^vw_ingest_requests_refused_total\{code="VW_REQUEST_TIMEOUT"\} [1-9]/m);
  });

  it("answers headers over Node's limit with 431 in the catalog's shape", async () => {
    const raw = client();
    await raw.connected;
    raw.send(postHead(tokens.token, 0, `X-Huge: ${"a".repeat(20_000)}\r\n`));
    const reply = await raw.closed;
    expect(reply.status).toBe(431);
    expect(reply.body).toMatchObject({ statusCode: 431, code: "VW_HEADERS_TOO_LARGE", error: "Request Header Fields Too Large" });
  });

  it("answers bad framing (Content-Length: -1, obs-fold) with 400 in the catalog's shape", async () => {
    const negative = client();
    const folded = client();
    await Promise.all([negative.connected, folded.connected]);
    negative.send(postHead(tokens.token, -1));
    folded.send(postHead(tokens.token, 0, "X-Folded: first\r\n second line\r\n"));
    for (const reply of await Promise.all([negative.closed, folded.closed])) {
      expect(reply.status).toBe(400);
      expect(reply.body).toMatchObject({ statusCode: 400, code: "VW_BAD_HTTP", error: "Bad Request" });
      expect(typeof (reply.body as ErrorReply).message).toBe("string");
    }
  });
});
