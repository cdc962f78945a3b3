// The ingest service's error catalog: every error it answers is defined once here, with its code,
// HTTP status and message (Fastify's lib/errors.js pattern). Every error reply has one shape:
// { statusCode, code, error, message } (protocol/batch.ts ErrorReply).
import { STATUS_CODES } from "node:http";
import type { ErrorReply } from "../protocol/batch.js";

export interface CatalogEntry {
  code: string;
  statusCode: number;
  message: string;
}

export const IngestErrors = {
  /** no or malformed Authorization header */
  MissingToken: { code: "VW_MISSING_TOKEN", statusCode: 401, message: "missing bearer token (Authorization: Bearer <token>)" },
  /** token unknown or wrong */
  BadToken: { code: "VW_BAD_TOKEN", statusCode: 401, message: "bearer token not recognised" },
  /** a valid token of gateway A used for a batch of gateway B */
  GatewayMismatch: { code: "VW_GATEWAY_MISMATCH", statusCode: 403, message: "the token's gateway does not match the batch's gw" },
  /** mTLS required, certificate missing or not trusted */
  ClientCertificate: { code: "VW_CLIENT_CERTIFICATE", statusCode: 403, message: "a trusted client certificate is required" },
  /** the batch envelope broke the wire contract (code replaced by the ContractError's) */
  BadBatch: { code: "VW_SCHEMA", statusCode: 400, message: "the batch does not match the wire contract" },
  BadJson: { code: "VW_NOT_JSON", statusCode: 400, message: "the body is not valid JSON" },
  /** gzip body that does not inflate */
  BadEncoding: { code: "VW_BAD_ENCODING", statusCode: 400, message: "the request body could not be decoded" },
  BodyTooLarge: { code: "VW_BODY_TOO_LARGE", statusCode: 413, message: "request body is larger than the configured limit" },
  UnsupportedMediaType: { code: "VW_UNSUPPORTED_MEDIA_TYPE", statusCode: 415, message: "send application/cbor or application/json" },
  UnsupportedEncoding: { code: "VW_UNSUPPORTED_ENCODING", statusCode: 415, message: "Content-Encoding must be gzip or identity" },
  /** failed or missing tokens from one address over its budget (unauthenticated.*); authenticated gateways are never counted */
  AuthRateLimited: { code: "VW_AUTH_RATE_LIMITED", statusCode: 429, message: "too many unauthenticated requests from this address; retry after the Retry-After delay" },
  RateLimited: { code: "VW_RATE_LIMITED", statusCode: 429, message: "too many batches from this gateway; retry after the Retry-After delay" },
  /** InfluxDB (or the embedded store) down, slow or refusing: nothing was acknowledged */
  StorageUnavailable: { code: "VW_STORAGE_UNAVAILABLE", statusCode: 503, message: "storage is unavailable; nothing from this batch was acknowledged" },
  /** all write slots busy and the wait queue full */
  Busy: { code: "VW_BUSY", statusCode: 503, message: "too many writes in flight; retry after the Retry-After delay" },
  /** @fastify/under-pressure: event loop or memory over its limit */
  UnderPressure: { code: "VW_UNDER_PRESSURE", statusCode: 503, message: "the service is under pressure; retry after the Retry-After delay" },
  ShuttingDown: { code: "VW_SHUTTING_DOWN", statusCode: 503, message: "the service is shutting down" },
  // Node's HTTP layer (the server's 'clientError'): answered on the socket, which is then closed
  /** headers or body not received within connections.headersTimeoutMs / requestTimeoutMs */
  RequestTimeout: { code: "VW_REQUEST_TIMEOUT", statusCode: 408, message: "the request was not received in time" },
  /** request line and headers over Node's limit (16 KiB) */
  HeadersTooLarge: { code: "VW_HEADERS_TOO_LARGE", statusCode: 431, message: "request headers are larger than the limit" },
  /** bad HTTP framing or header syntax (Content-Length: -1, obs-fold, ...) */
  BadHttp: { code: "VW_BAD_HTTP", statusCode: 400, message: "malformed HTTP request" },
  NotFound: { code: "VW_NOT_FOUND", statusCode: 404, message: "no such route" },
  Internal: { code: "VW_INTERNAL", statusCode: 500, message: "internal error" },
} as const satisfies Record<string, CatalogEntry>;

export type IngestErrorName = keyof typeof IngestErrors;


/** An error the service answers with; thrown from hooks and handlers, rendered by the error handler. */
export class IngestError extends Error {
  readonly code: string;
  readonly statusCode: number;
  /** seconds, sent as Retry-After (429 and 503) */
  readonly retryAfterS: number | undefined;

  constructor(entry: CatalogEntry, detail?: string, options: { retryAfterS?: number; code?: string } = {}) {
    super(detail ? `${entry.message}: ${detail}` : entry.message);
    this.name = "IngestError";
    this.code = options.code ?? entry.code;
    this.statusCode = entry.statusCode;
    this.retryAfterS = options.retryAfterS;
  }
}

export function ingestError(name: IngestErrorName, detail?: string, options?: { retryAfterS?: number; code?: string }): IngestError {
  return new IngestError(IngestErrors[name], detail, options);
}

/** The one reply shape. */
export function errorReply(statusCode: number, code: string, message: string): ErrorReply {
  return { statusCode, code, error: STATUS_CODES[statusCode] ?? "Error", message };
}
