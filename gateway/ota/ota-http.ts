// The OTA endpoints on the gateway's ops server (gateway/http-server.ts):
//   GET  /ota/status    every device's update state (JSON, OtaStatusReport)
//   POST /ota/offer     store a release and offer it: JSON {site, devices | all, url | dir}, or CBOR
//                       {site, devices | all, image, manifest, signature} (the release uploaded,
//                       `vibewatch ota offer`); answers {version, devices, stored}
//   POST /ota/withdraw  JSON {site, devices | all}
// Who may POST: with ota.offerTokenFile set, only a caller presenting that bearer token; without
// it, only callers on the loopback interface (the ops server listens on 127.0.0.1 by default).
// Either way the gateway offers only releases signed with the site's release key, so a caller can
// at worst offer or withdraw a genuine release. GET /ota/status is as open as /metrics.
// Errors have one shape: { statusCode, code, error, message }.
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { cborDecoder } from "../../protocol/schema/validate.js";
import { OtaRequestError, type OtaDistributor, type ReleaseSource } from "./ota-distributor.js";

const JSON_BODY_MAX_BYTES = 64 * 1024;
/** room for the CBOR map around an uploaded image */
const UPLOAD_OVERHEAD_BYTES = 4096;

const CODES: Record<number, string> = {
  400: "VW_OTA_BAD_REQUEST",
  401: "VW_OTA_UNAUTHORIZED",
  403: "VW_OTA_FORBIDDEN",
  404: "VW_OTA_OFF",
  409: "VW_OTA_CONFLICT",
  413: "VW_OTA_TOO_LARGE",
  415: "VW_OTA_UNSUPPORTED_MEDIA_TYPE",
  422: "VW_OTA_RELEASE_REFUSED",
  502: "VW_OTA_FETCH_FAILED",
  503: "VW_OTA_UNAVAILABLE",
  507: "VW_OTA_STORE_FULL",
};
const REASONS: Record<number, string> = { 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict", 413: "Payload Too Large", 415: "Unsupported Media Type", 422: "Unprocessable Entity", 502: "Bad Gateway", 503: "Service Unavailable", 507: "Insufficient Storage" };

class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

export interface OtaHttpOptions {
  /** bearer token required for POST; undefined: loopback callers only */
  token?: string;
  maxImageBytes: number;
}

function sendJson(response: ServerResponse, statusCode: number, body: unknown): void {
  response.writeHead(statusCode, { "content-type": "application/json" }).end(`${JSON.stringify(body)}\n`);
}

function sendError(response: ServerResponse, statusCode: number, message: string): void {
  sendJson(response, statusCode, { statusCode, code: CODES[statusCode] ?? "VW_OTA_ERROR", error: REASONS[statusCode] ?? "Error", message });
}

function isLoopback(address: string | undefined): boolean {
  return address === "127.0.0.1" || address === "::1" || address === "::ffff:127.0.0.1" || (address?.startsWith("127.") ?? false);
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

function authorize(request: IncomingMessage, token: string | undefined): void {
  if (token === undefined) {
    if (!isLoopback(request.socket.remoteAddress)) throw new HttpError(403, "OTA offers are accepted from this host only (set ota.offerTokenFile to allow remote callers with a token)");
    return;
  }
  const header = request.headers.authorization ?? "";
  const presented = header.startsWith("Bearer ") ? header.slice(7).trim() : "";
  if (presented === "" || !timingSafeEqual(digest(presented), digest(token))) throw new HttpError(401, "a valid bearer token is required (ota.offerTokenFile)");
}

async function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(request.headers["content-length"] ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) throw new HttpError(413, `body of ${declared} bytes, at most ${maxBytes}`);
  const parts: Buffer[] = [];
  let length = 0;
  for await (const chunk of request) {
    length += (chunk as Buffer).length;
    if (length > maxBytes) throw new HttpError(413, `body above ${maxBytes} bytes`);
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts);
}

interface Target {
  site?: unknown;
  devices?: unknown;
  all?: unknown;
}

function targetDevices(body: Target, site: string): readonly string[] | "all" {
  if (body.site !== undefined && body.site !== site) throw new HttpError(400, `this gateway serves site "${site}", not ${JSON.stringify(body.site)}`);
  if (body.all === true) {
    if (body.devices !== undefined) throw new HttpError(400, "give devices or all, not both");
    return "all";
  }
  if (!Array.isArray(body.devices) || !body.devices.every((d) => typeof d === "string")) throw new HttpError(400, "devices (an array of device ids) or all: true is required");
  return body.devices as string[];
}

async function parseBody(request: IncomingMessage, maxImageBytes: number): Promise<Record<string, unknown>> {
  const type = (request.headers["content-type"] ?? "").split(";")[0]?.trim();
  if (type === "application/cbor") {
    const bytes = await readBody(request, maxImageBytes + UPLOAD_OVERHEAD_BYTES);
    try {
      const value: unknown = cborDecoder.decode(bytes);
      if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("not a map");
      return value as Record<string, unknown>;
    } catch (error) {
      throw new HttpError(400, `body is not a CBOR map: ${(error as Error).message}`);
    }
  }
  if (type === "application/json") {
    const bytes = await readBody(request, JSON_BODY_MAX_BYTES);
    try {
      const value: unknown = JSON.parse(bytes.toString("utf8"));
      if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("not an object");
      return value as Record<string, unknown>;
    } catch (error) {
      throw new HttpError(400, `body is not a JSON object: ${(error as Error).message}`);
    }
  }
  throw new HttpError(415, "send application/json ({url} or {dir}) or application/cbor ({image, manifest, signature})");
}

function releaseSource(body: Record<string, unknown>): ReleaseSource {
  const given = ["url", "dir", "image"].filter((key) => body[key] !== undefined);
  if (given.length !== 1) throw new HttpError(400, "name the release with exactly one of url, dir, or image + manifest + signature");
  if (typeof body.url === "string") return { url: body.url };
  if (typeof body.dir === "string") return { dir: body.dir };
  const { image, manifest, signature } = body;
  if (!(image instanceof Uint8Array) || !(manifest instanceof Uint8Array) || !(signature instanceof Uint8Array)) {
    throw new HttpError(400, "image, manifest and signature must be CBOR byte strings");
  }
  return { parts: { image: new Uint8Array(image), manifestBytes: new Uint8Array(manifest), signature: new Uint8Array(signature) } };
}

/** The ops server's route hook: true when the request was an OTA one (answered here). */
export function otaRoutes(distributor: () => OtaDistributor | undefined, site: string, options: OtaHttpOptions) {
  return (request: IncomingMessage, response: ServerResponse, path: string): boolean => {
    if (!path.startsWith("/ota/")) return false;
    void handle(request, response, path).catch((error: unknown) => {
      if (error instanceof HttpError || error instanceof OtaRequestError) sendError(response, error.statusCode, error.message);
      else sendError(response, 503, `OTA request failed: ${(error as Error).message}`);
    });
    return true;
  };

  async function handle(request: IncomingMessage, response: ServerResponse, path: string): Promise<void> {
    const ota = distributor();
    const method = request.method ?? "GET";
    const known = { "/ota/status": "GET", "/ota/offer": "POST", "/ota/withdraw": "POST" } as Record<string, string>;
    if (!(path in known)) throw new HttpError(404, "not found: try /ota/status, POST /ota/offer, POST /ota/withdraw");
    if (method !== known[path]) {
      response.writeHead(405, { allow: known[path] as string }).end();
      return;
    }
    if (!ota) throw new HttpError(404, "OTA distribution is off on this gateway: set ota.releasePublicKeyFile");
    if (path === "/ota/status") {
      sendJson(response, 200, ota.status());
      return;
    }
    authorize(request, options.token);
    const body = await parseBody(request, options.maxImageBytes);
    const devices = targetDevices(body, site);
    if (path === "/ota/offer") sendJson(response, 200, await ota.offer({ release: releaseSource(body), devices }));
    else sendJson(response, 200, await ota.withdraw(devices));
  }
}
