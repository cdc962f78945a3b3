// One POST of an encoded batch to the ingest service, classified into what the sink does next: a
// 200 reply, or the action of the error table (error-table.ts) for the reply's error code.
// Compression: gzip (Content-Encoding) from gzipMinBytes on, where it pays; CBOR telemetry
// compresses ~2-3x thanks to the repeated keys. TLS: the CA file is the only trust anchor (pinned).
import { request as httpRequest, Agent as HttpAgent, type IncomingMessage } from "node:http";
import { request as httpsRequest, Agent as HttpsAgent } from "node:https";
import { readFileSync } from "node:fs";
import { gzip } from "node:zlib";
import { promisify } from "node:util";
import type { BatchReply, ErrorReply } from "../../protocol/batch.js";
import { BatchReplySchema, ErrorReplySchema } from "../../protocol/schema/batch-schema.js";
import { assertSchema, cborDecoder } from "../../protocol/schema/validate.js";
import { batchAction, isCloudErrorCode } from "./error-table.js";
import { parseRetryAfterMs } from "./retry-policy.js";

const gzipAsync = promisify(gzip);

export type CloudErrorKind = "network" | "timeout" | "http_5xx" | "http_429" | "http_401_403" | "http_4xx" | "bad_reply";

export type PostOutcome =
  | { kind: "reply"; reply: BatchReply }
  /** keep the batch and send it again after the backoff; `action` "alarm" when it waits for an
   *  operator; `refusal` names a refusing reply: its catalog error code, else HTTP_<status> */
  | { kind: "retry"; action: "retry" | "alarm"; error: CloudErrorKind; detail: string; refusal?: string; retryAfterMs?: number }
  | { kind: "split"; refusal: string; detail: string };

export interface HttpPosterOptions {
  url: string;
  token?: string;
  caFile?: string;
  /** client certificate and key (PEM) for an ingest service that requires mTLS */
  certFile?: string;
  keyFile?: string;
  timeoutMs: number;
  gzipMinBytes: number;
  maxInFlight: number;
}

/** Largest reply read: a reply lists record ids, a few hundred KB at most. */
const MAX_REPLY_BYTES = 8 * 1024 * 1024;

export class HttpPoster {
  readonly #url: URL;
  readonly #agent: HttpAgent;
  readonly #ca: Buffer | undefined;
  /** bytes before and after compression, for the metrics */
  lastBodyBytes = 0;

  constructor(private readonly options: HttpPosterOptions) {
    this.#url = new URL(options.url);
    const secure = this.#url.protocol === "https:";
    this.#ca = options.caFile ? readFileSync(options.caFile) : undefined;
    if ((options.certFile === undefined) !== (options.keyFile === undefined)) {
      throw new Error("sink.certFile and sink.keyFile go together: give both or neither");
    }
    const clientCert = options.certFile && options.keyFile ? { cert: readFileSync(options.certFile), key: readFileSync(options.keyFile) } : {};
    this.#agent = secure
      ? new HttpsAgent({ keepAlive: true, maxSockets: options.maxInFlight, ...(this.#ca ? { ca: this.#ca } : {}), ...clientCert })
      : new HttpAgent({ keepAlive: true, maxSockets: options.maxInFlight });
  }

  async post(body: Buffer): Promise<PostOutcome> {
    let payload = body;
    const headers: Record<string, string> = { "content-type": "application/cbor", accept: "application/cbor, application/json" };
    if (body.length >= this.options.gzipMinBytes) {
      const compressed = await gzipAsync(body, { level: 4 });
      if (compressed.length < body.length) {
        payload = compressed;
        headers["content-encoding"] = "gzip";
      }
    }
    this.lastBodyBytes = payload.length;
    headers["content-length"] = String(payload.length);
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    const request = this.#url.protocol === "https:" ? httpsRequest : httpRequest;
    return await new Promise<PostOutcome>((resolve) => {
      let settled = false;
      const settle = (outcome: PostOutcome) => {
        if (!settled) {
          settled = true;
          resolve(outcome);
        }
      };
      const req = request(this.#url, { method: "POST", headers, agent: this.#agent, timeout: this.options.timeoutMs }, (response) => {
        readBody(response).then(
          (bytes) => settle(classify(response, bytes)),
          (error: Error) => settle({ kind: "retry", action: "retry", error: "network", detail: error.message }),
        );
      });
      req.on("timeout", () => {
        settle({ kind: "retry", action: "retry", error: "timeout", detail: `no answer within ${this.options.timeoutMs} ms` });
        req.destroy();
      });
      req.on("error", (error: NodeJS.ErrnoException) => settle({ kind: "retry", action: "retry", error: "network", detail: error.code ?? error.message }));
      req.end(payload);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}

async function readBody(response: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of response) {
    length += (chunk as Buffer).length;
    if (length > MAX_REPLY_BYTES) throw new Error(`reply larger than ${MAX_REPLY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function classify(response: IncomingMessage, bytes: Buffer): PostOutcome {
  const status = response.statusCode ?? 0;
  const type = response.headers["content-type"] ?? "";
  if (status === 200) {
    try {
      const value = type.includes("json") ? JSON.parse(bytes.toString("utf8")) : cborDecoder.decode(bytes);
      return { kind: "reply", reply: assertSchema<BatchReply>(BatchReplySchema, value) };
    } catch (error) {
      return { kind: "retry", action: "retry", error: "bad_reply", detail: `unreadable 200 reply: ${(error as Error).message}` };
    }
  }
  // the error code decides (error-table.ts); the status only for a reply without one
  const errorReply = readErrorReply(type, bytes);
  // a code outside the catalogs is in the detail, not in a metric label (bounded label values)
  const refusal = errorReply && isCloudErrorCode(errorReply.code) ? errorReply.code : `HTTP_${status}`;
  const detail = `${status} ${errorReply ? `${errorReply.code}: ${errorReply.message.slice(0, 200)}` : printable(bytes)}`;
  const action = batchAction(status, errorReply?.code);
  if (action === "split") return { kind: "split", refusal, detail };
  const header = response.headers["retry-after"];
  const retryAfterMs = parseRetryAfterMs(Array.isArray(header) ? header[0] : header);
  return { kind: "retry", action, error: errorKind(status), detail, refusal, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
}

/** The service's one error shape ({statusCode, code, error, message}, JSON or CBOR), or undefined. */
function readErrorReply(type: string, bytes: Buffer): ErrorReply | undefined {
  if (!type.includes("json") && !type.includes("cbor")) return undefined;
  try {
    const value: unknown = type.includes("json") ? JSON.parse(bytes.toString("utf8")) : cborDecoder.decode(bytes);
    return assertSchema<ErrorReply>(ErrorReplySchema, value);
  } catch {
    return undefined;
  }
}

function printable(bytes: Buffer): string {
  return bytes.subarray(0, 200).toString("utf8").replace(/[^\x20-\x7e]/g, "?");
}

function errorKind(status: number): CloudErrorKind {
  if (status === 429) return "http_429";
  if (status >= 500) return "http_5xx";
  if (status === 401 || status === 403) return "http_401_403";
  return "http_4xx";
}
