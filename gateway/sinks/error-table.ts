// The sink's error table: every error code the ingest service answers maps to exactly one action,
// here and nowhere else (Telegraf marks each output error retryable or not; the buffer acts on it).
// The codes: the wire contract's (protocol/errors.ts), the ingest service's catalog (cloud/errors.ts)
// and the storage's per-record refusal (cloud/storage/writer.ts). They are imported as types only,
// so a code added to either catalog without an action here fails the compiler, while the gateway
// loads nothing of cloud/ at run time.
//
// The sink decides from the code, never from the HTTP status alone. The status decides only for a
// reply that carries no code of these catalogs (a proxy's HTML 400, a load balancer's 502), and such
// a reply is never about the records: retried (split on 413), never quarantined.
import type { ContractErrorCode } from "../../protocol/errors.js";
import type { IngestErrors } from "../../cloud/errors.js";
import type { STORAGE_REJECTED_CODE } from "../../cloud/storage/writer.js";

export type IngestErrorCode = (typeof IngestErrors)[keyof typeof IngestErrors]["code"];
export type CloudErrorCode = ContractErrorCode | IngestErrorCode | typeof STORAGE_REJECTED_CODE;

/**
 * - retry: the service or the path is busy or down for a while. Every record is kept; the same batch
 *   is sent again after the backoff (or the server's Retry-After). A warning line per attempt.
 * - alarm: a refusal that is not the records' fault and that waits for an operator (credentials, URL,
 *   contract version, a body damaged on the way). Kept and retried exactly like `retry`, logged as
 *   an error.
 * - split: the body is too large: the batch is halved until it fits. A single record still refused is
 *   handled as `alarm` (a gateway record is at most ~1 KiB: a smaller limit is the path's, not the
 *   record's fault).
 * - quarantine: the service refused this one record by itself, in a 200 reply's `rejected` list: the
 *   record is quarantined and deleted, unless the quarantine breaker is open (quarantine-breaker.ts).
 *   The same code on a whole-batch error reply names no record (for VW_SCHEMA: the envelope): `alarm`.
 */
export type SinkAction = "retry" | "alarm" | "split" | "quarantine";

export const SINK_ERROR_TABLE: Readonly<Record<CloudErrorCode, SinkAction>> = {
  // the wire contract's codes. The body-level ones come from decoding the whole body; the gateway
  // checked every payload with the same decoder and limits before storing it, so a body that does
  // not decode was damaged on the way (or the encoder is broken): not one record's fault
  VW_NOT_CBOR: "alarm",
  VW_TRUNCATED: "alarm",
  VW_TOO_DEEP: "alarm",
  // more CBOR items in the body than the service allows: fewer records per batch fit
  VW_OVERSIZE: "split",
  // the service does not speak this gateway's payload version: true of every record, never of one
  VW_UNKNOWN_VERSION: "alarm",
  // per record: the record breaks the contract's schema (a whole-batch 400: the envelope)
  VW_SCHEMA: "quarantine",
  VW_DEVICE_MISMATCH: "quarantine",
  // the gateway's own intake code for a message on a non-data topic; a record-level code
  VW_BAD_TOPIC: "quarantine",
  // per record, the batch's identity checks: the later of two records with one id, or on one storage
  // point with different ids, or a gw record naming another device (VW_DEVICE_MISMATCH above)
  VW_DUPLICATE_ID: "quarantine",
  VW_POINT_COLLISION: "quarantine",
  // the ingest service's catalog
  VW_MISSING_TOKEN: "alarm",
  VW_BAD_TOKEN: "alarm",
  VW_GATEWAY_MISMATCH: "alarm",
  VW_CLIENT_CERTIFICATE: "alarm",
  // failed tokens from this address over its budget (429 + Retry-After): a gateway whose token fails
  // saw VW_BAD_TOKEN alarms first; waits out the Retry-After like any 429
  VW_AUTH_RATE_LIMITED: "retry",
  // the gateway sends CBOR: a JSON parse error means the body or its type was changed on the way
  VW_NOT_JSON: "alarm",
  // a gzip body that does not inflate: damaged on the way
  VW_BAD_ENCODING: "alarm",
  VW_BODY_TOO_LARGE: "split",
  VW_UNSUPPORTED_MEDIA_TYPE: "alarm",
  VW_UNSUPPORTED_ENCODING: "alarm",
  VW_RATE_LIMITED: "retry",
  VW_STORAGE_UNAVAILABLE: "retry",
  VW_BUSY: "retry",
  VW_UNDER_PRESSURE: "retry",
  VW_SHUTTING_DOWN: "retry",
  // Node's HTTP layer: the body did not arrive within the service's request timeout (a link too slow
  // for the batch, or stalled): kept and sent again, logged as an error for an operator to look at
  VW_REQUEST_TIMEOUT: "alarm",
  // headers over the service's limit, or HTTP framing it cannot read: a proxy or the client is broken
  VW_HEADERS_TOO_LARGE: "alarm",
  VW_BAD_HTTP: "alarm",
  // sink.url names no route
  VW_NOT_FOUND: "alarm",
  // a fault of the service; nothing of the batch was acknowledged
  VW_INTERNAL: "retry",
  // per record: the storage refused this point (InfluxDB field type conflict, bad point)
  VW_STORAGE_REJECTED: "quarantine",
};

export function isCloudErrorCode(code: string): code is CloudErrorCode {
  return Object.hasOwn(SINK_ERROR_TABLE, code);
}

/** The action for a whole-batch error reply (any status but 200), from its code; `code` is undefined when the reply had none of the catalogs'. */
export function batchAction(status: number, code: string | undefined): Exclude<SinkAction, "quarantine"> {
  if (code !== undefined && isCloudErrorCode(code)) {
    const action = SINK_ERROR_TABLE[code];
    // a whole-batch reply names no record: nothing to quarantine
    return action === "quarantine" ? "alarm" : action;
  }
  // no code of the catalogs: a proxy, a load balancer, another service on that URL; never the records
  if (status === 413) return "split";
  if (status === 408 || status === 429 || status >= 500) return "retry";
  return "alarm";
}

/**
 * What becomes of one record a 200 reply lists as rejected: "quarantine" (subject to the breaker) or
 * "hold" (kept buffered and sent again after a backoff). A code of neither catalog is quarantined:
 * by the contract, `rejected` lists records refused for good (protocol/batch.ts RecordRejection),
 * and the breaker stops it when such refusals are systemic.
 */
export function rejectionAction(code: string): "quarantine" | "hold" {
  return !isCloudErrorCode(code) || SINK_ERROR_TABLE[code] === "quarantine" ? "quarantine" : "hold";
}
