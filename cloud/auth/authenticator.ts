// Bearer-token authentication of gateways: Authorization: Bearer <token> -> the gateway id.
// A token ("<gatewayId>.<secret>") is checked against the stored hash of the gateway its prefix
// names. scrypt costs tens of ms of CPU, so tokens already verified are remembered by their
// SHA-256 digest (never in clear) in a small bounded map; a changed config builds a new
// Authenticator, so revocation takes effect on restart.
import { createHash } from "node:crypto";
import { ingestError } from "../errors.js";
import type { GatewayEntry } from "../config/schema.js";
import { verifyToken } from "./token-hash.js";

const VERIFIED_CACHE_SIZE = 1024;

export class Authenticator {
  readonly #byId: Map<string, GatewayEntry>;
  readonly #verified = new Map<string, string>();

  constructor(gateways: readonly GatewayEntry[]) {
    this.#byId = new Map(gateways.map((g) => [g.id, g]));
  }

  /** The gateway id the Authorization header proves; throws a 401 IngestError otherwise. */
  async authenticate(header: string | undefined): Promise<string> {
    const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw ingestError("MissingToken");
    const token = match[1] as string;
    const digest = createHash("sha256").update(token).digest("hex");
    const cached = this.#verified.get(digest);
    if (cached !== undefined && this.#byId.has(cached)) return cached;

    // the "<gatewayId>." prefix names the one hash to check: a token without a configured
    // gateway's prefix costs no hashing at all (no CPU to burn with random tokens)
    const dot = token.indexOf(".");
    const gateway = dot > 0 ? this.#byId.get(token.slice(0, dot)) : undefined;
    if (gateway && (await verifyToken(token, gateway.tokenHash))) {
      if (this.#verified.size >= VERIFIED_CACHE_SIZE) this.#verified.delete(this.#verified.keys().next().value as string);
      this.#verified.set(digest, gateway.id);
      return gateway.id;
    }
    throw ingestError("BadToken");
  }
}
