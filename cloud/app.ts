// The ingest service as a Fastify app: build(options) assembles it (tests use inject() and real
// sockets); only `vibewatch ingest` calls listen(). Layout: errors.ts (the catalog), config/
// (schema + loader), auth/ (bearer tokens), routes/ (batches, operations), storage/ (writers).
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from "fastify";
import underPressure from "@fastify/under-pressure";
import type { DestinationStream } from "pino";
import { ContractError } from "../protocol/errors.js";
import type { IngestConfig } from "./config/schema.js";
import { errorReply, ingestError, IngestError, IngestErrors, type CatalogEntry } from "./errors.js";
import { Authenticator } from "./auth/authenticator.js";
import { UnauthenticatedLimit } from "./auth/unauthenticated-limit.js";
import { IngestMetrics } from "./metrics.js";
import { WriteSlots } from "./write-slots.js";
import { batchRoutes } from "./routes/batches.js";
import { operationRoutes } from "./routes/operations.js";
import { createWriter } from "./storage/create-writer.js";
import type { Writer } from "./storage/writer.js";

export interface BuildOptions {
  config: IngestConfig;
  /** a writer made by the caller (tests, bench), who also closes it; default: createWriter(config.storage), closed by app.close() */
  writer?: Writer;
  /** where pino writes (tests capture logs with it); default stdout */
  logStream?: DestinationStream;
  /** Node's default process metrics on /metrics (off in tests: they are global) */
  defaultMetrics?: boolean;
}

declare module "fastify" {
  interface FastifyInstance {
    ingest: { writer: Writer; metrics: IngestMetrics; slots: WriteSlots; readonly closing: boolean };
  }
}

/** Log redaction: bearer tokens, InfluxDB passwords and tokens never reach the logs. */
export const REDACTED_PATHS = [
  "req.headers.authorization",
  "headers.authorization",
  "authorization",
  "token",
  "password",
  "*.token",
  "*.password",
  "*.tokenHash",
  "storage.token",
  "storage.password",
  "config.storage.token",
  "config.storage.password",
];

function httpsOptions(config: IngestConfig): FastifyServerOptions & { https?: object } {
  const tls = config.tls;
  if (!tls) return {};
  return {
    https: {
      cert: readFileSync(tls.certFile),
      key: readFileSync(tls.keyFile),
      ...(tls.caFile ? { ca: readFileSync(tls.caFile) } : {}),
      // revoked gateway certificates (vibewatch pki crl); re-read at start, so restart after a revocation
      ...(tls.crlFile ? { crl: readFileSync(tls.crlFile) } : {}),
      // mTLS: the TLS layer refuses a missing or untrusted client certificate before HTTP starts
      requestCert: tls.requireClientCert || tls.caFile !== undefined,
      rejectUnauthorized: tls.requireClientCert,
      minVersion: "TLSv1.2",
    },
  };
}

/** Node's HTTP-server timeouts from connections.* (Fastify passes `http` to http.createServer; TLS options take them too). */
function serverTimeouts(config: IngestConfig): { requestTimeout: number; headersTimeout: number; connectionsCheckingInterval: number } {
  const { requestTimeoutMs, headersTimeoutMs } = config.connections;
  // Node refuses headersTimeout > requestTimeout
  const headersTimeout = requestTimeoutMs > 0 && headersTimeoutMs > 0 ? Math.min(headersTimeoutMs, requestTimeoutMs) : headersTimeoutMs;
  // Node checks for expired requests every connectionsCheckingInterval (default 30 s): check often
  // enough that a timeout fires within ~a quarter of itself
  const shortest = Math.min(...[requestTimeoutMs, headersTimeout].filter((ms) => ms > 0), 120_000);
  return { requestTimeout: requestTimeoutMs, headersTimeout, connectionsCheckingInterval: Math.max(25, Math.min(30_000, Math.floor(shortest / 4))) };
}

/** Node's HTTP-layer error (the server's 'clientError') -> the catalog's entry. */
function clientErrorEntry(error: Error & { code?: string }): CatalogEntry {
  if (error.code === "ERR_HTTP_REQUEST_TIMEOUT" || error.code === "ERR_HTTP_HEADERS_TIMEOUT") return IngestErrors.RequestTimeout;
  if (error.code === "HPE_HEADER_OVERFLOW") return IngestErrors.HeadersTooLarge;
  return IngestErrors.BadHttp;
}

export async function build(options: BuildOptions): Promise<FastifyInstance> {
  const { config } = options;
  const timeouts = serverTimeouts(config);
  // the latest request on each socket and its response: a client error about a request already
  // answered (a 401 whose body still trickles in) gets no second reply, only the close
  const exchanges = new WeakMap<Socket, { request: IncomingMessage; response: ServerResponse }>();
  const metrics = new IngestMetrics({ defaultMetrics: options.defaultMetrics ?? false });
  const logger = {
    level: config.log.level,
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
    ...(options.logStream ? { stream: options.logStream } : {}),
  };
  const app = Fastify({
    logger,
    bodyLimit: config.bodyLimitBytes,
    // our own 503 with the catalog shape, set by the onRequest hook below
    return503OnClosing: false,
    forceCloseConnections: "idle",
    requestTimeout: config.connections.requestTimeoutMs,
    connectionTimeout: config.connections.idleTimeoutMs,
    keepAliveTimeout: config.connections.keepAliveTimeoutMs,
    http: timeouts,
    ...withTimeouts(httpsOptions(config), timeouts),
    // Node's HTTP-layer refusals (timeouts, 431, bad framing) in the catalog's shape, then close
    clientErrorHandler: (error: Error & { code?: string }, socket: Socket) => {
      if (error.code === "ECONNRESET" || socket.destroyed) return;
      const entry = clientErrorEntry(error);
      metrics.refused.inc({ code: entry.code });
      const latest = exchanges.get(socket);
      const answering = latest !== undefined && latest.response.headersSent && (!latest.request.complete || !latest.response.writableFinished);
      if (!socket.writable || answering) {
        socket.destroy();
        return;
      }
      const body = JSON.stringify(errorReply(entry.statusCode, entry.code, `${entry.message} (${error.code ?? error.message})`));
      const head = `HTTP/1.1 ${entry.statusCode} ${errorReply(entry.statusCode, entry.code, "").error}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`;
      // destroy once written: ending politely would leave a trickling client's socket open
      socket.write(head + body, () => socket.destroy());
    },
  }) as unknown as FastifyInstance;
  if (config.connections.maxConnections > 0) app.server.maxConnections = config.connections.maxConnections;

  // net.Server closes a connection over maxConnections at accept and says so with 'drop'
  app.server.on("drop", () => metrics.connectionsDropped.inc());
  const writer = options.writer ?? createWriter(config.storage);
  const slots = new WriteSlots(config.writes.maxConcurrent, config.writes.maxQueued, config.writes.retryAfterS, metrics);
  let closing = false;
  app.decorate("ingest", {
    writer,
    metrics,
    slots,
    get closing() {
      return closing;
    },
  });

  app.addHook("onRequest", async (request, reply) => {
    exchanges.set(request.raw.socket, { request: request.raw, response: reply.raw });
    if (closing) throw ingestError("ShuttingDown", undefined, { retryAfterS: config.writes.retryAfterS });
  });
  app.addHook("preClose", async () => {
    closing = true;
  });
  // graceful shutdown: in-flight writes finish (and their batches are answered) before the
  // storage closes; new requests got 503 above
  app.addHook("onClose", async (instance) => {
    const drained = await slots.drain(config.shutdown.drainTimeoutMs);
    if (!drained) instance.log.warn({ inFlight: slots.inFlight }, "shutdown: writes still in flight after the drain timeout");
    if (options.writer === undefined) await writer.close();
  });

  app.setErrorHandler((error: FastifyError | IngestError | ContractError | Error, request, reply) => {
    const { statusCode, code, message, retryAfterS } = describe(error, config.writes.retryAfterS);
    if (statusCode >= 500 && !(error instanceof IngestError)) request.log.error({ err: error }, "internal error");
    if (request.routeOptions.url === "/v1/batches") {
      request.server.ingest.metrics.batches.inc({ status: String(statusCode) });
      if (statusCode !== 503 || code !== IngestErrors.StorageUnavailable.code) request.server.ingest.metrics.refused.inc({ code });
    }
    if (retryAfterS !== undefined) void reply.header("retry-after", String(retryAfterS));
    return reply.code(statusCode).send(errorReply(statusCode, code, message));
  });
  app.setNotFoundHandler((request, reply) => {
    const entry = IngestErrors.NotFound;
    return reply.code(entry.statusCode).send(errorReply(entry.statusCode, entry.code, `${entry.message}: ${request.method} ${request.url}`));
  });
  app.addHook("onResponse", async (request, reply) => {
    if (request.routeOptions.url === "/v1/batches" && reply.statusCode === 200) metrics.batches.inc({ status: "200" });
  });

  const pressure = config.pressure;
  await app.register(underPressure, {
    maxEventLoopDelay: pressure.maxEventLoopDelayMs,
    maxHeapUsedBytes: pressure.maxHeapUsedBytes,
    maxRssBytes: pressure.maxRssBytes,
    retryAfter: config.writes.retryAfterS,
    // a rejected promise goes to the error handler: the catalog's reply shape and Retry-After
    pressureHandler: async (_request, _reply, type, value) => {
      throw ingestError("UnderPressure", `${type}: ${String(value)}`, { retryAfterS: config.writes.retryAfterS });
    },
  });

  await app.register(operationRoutes, { writer, metrics });
  await app.register(batchRoutes, {
    authenticator: new Authenticator(config.gateways),
    unauthenticated: new UnauthenticatedLimit({ ...config.unauthenticated, onForget: () => metrics.unauthenticatedForgotten.inc() }),
    writer,
    slots,
    metrics,
    bodyLimitBytes: config.bodyLimitBytes,
    rateLimit: config.rateLimit,
    retryAfterS: config.writes.retryAfterS,
  });
  return app;
}

function withTimeouts(options: FastifyServerOptions & { https?: object }, timeouts: object): FastifyServerOptions & { https?: object } {
  return options.https ? { ...options, https: { ...options.https, ...timeouts } } : options;
}

interface Described {
  statusCode: number;
  code: string;
  message: string;
  retryAfterS?: number;
}

/** Any error -> the catalog's status, code and message. */
function describe(error: Error & { statusCode?: number; code?: string }, retryAfterS: number): Described {
  if (error instanceof IngestError) return { statusCode: error.statusCode, code: error.code, message: error.message, retryAfterS: error.retryAfterS };
  if (error instanceof ContractError) return { statusCode: 400, code: error.code, message: error.message };
  const entry = fastifyCodes[error.code ?? ""];
  if (entry) return { statusCode: entry.statusCode, code: entry.code, message: `${entry.message}: ${error.message}` };
  if (error.code === "VW_BAD_ENCODING") return { statusCode: 400, code: error.code, message: `${IngestErrors.BadEncoding.message}: ${error.message}` };
  const statusCode = error.statusCode ?? 500;
  if (statusCode === 503) return { statusCode, code: IngestErrors.StorageUnavailable.code, message: error.message, retryAfterS };
  if (statusCode >= 400 && statusCode < 500) return { statusCode, code: error.code ?? "VW_BAD_REQUEST", message: error.message };
  return { statusCode: 500, code: IngestErrors.Internal.code, message: IngestErrors.Internal.message };
}

const fastifyCodes: Record<string, (typeof IngestErrors)[keyof typeof IngestErrors]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: IngestErrors.BodyTooLarge,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: IngestErrors.UnsupportedMediaType,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: IngestErrors.BadEncoding,
  FST_ERR_CTP_INVALID_JSON_BODY: IngestErrors.BadJson,
  FST_ERR_CTP_EMPTY_JSON_BODY: IngestErrors.BadJson,
  FST_ERR_CTP_EMPTY_TYPE: IngestErrors.UnsupportedMediaType,
  FST_ERR_CTP_INVALID_TYPE: IngestErrors.UnsupportedMediaType,
};
