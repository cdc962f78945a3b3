// Bearer-token authentication of gateways: Authorization: Bearer <token> -> the gateway id.
// A token is checked against its gateway's stored hash (picked by the token's "<gatewayId>."
// prefix; a token without a known prefix is checked against every gateway). scrypt costs ~50 ms
// of CPU, so tokens already verified are remembered by their SHA-256 digest (never in clear) in a
// small bounded map; a changed config builds a new Authenticator, so revocation takes effect.
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

    const prefix = token.includes(".") ? token.slice(0, token.indexOf(".")) : undefined;
    const candidates = prefix !== undefined && this.#byId.has(prefix) ? [this.#byId.get(prefix) as GatewayEntry] : [...this.#byId.values()];
    for (const gateway of candidates) {
      if (await verifyToken(token, gateway.tokenHash)) {
        if (this.#verified.size >= VERIFIED_CACHE_SIZE) this.#verified.delete(this.#verified.keys().next().value as string);
        this.#verified.set(digest, gateway.id);
        return gateway.id;
      }
    }
    throw ingestError("BadToken");
  }
}
