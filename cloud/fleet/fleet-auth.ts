// Who is asking: an operator (role read or operate) or a site gateway (its site). Bearer tokens
// "<id>.<secret>", checked against the configured hash of the id they name (cloud/auth/token-hash.ts);
// tokens already verified are remembered by their SHA-256 digest in a small bounded map.
import { createHash } from "node:crypto";
import { verifyToken } from "../auth/token-hash.js";
import { FleetError } from "./errors.js";
import type { FleetConfig } from "./config-schema.js";

export type Principal = { kind: "operator"; id: string; role: "read" | "operate" } | { kind: "gateway"; id: string; site: string };

const CACHE_SIZE = 1024;

export class FleetAuth {
  readonly #entries = new Map<string, { principal: Principal; tokenHash: string }>();
  readonly #verified = new Map<string, Principal>();

  constructor(config: Pick<FleetConfig, "operators" | "gateways">) {
    for (const o of config.operators) this.#entries.set(o.id, { principal: { kind: "operator", id: o.id, role: o.role }, tokenHash: o.tokenHash });
    for (const g of config.gateways) this.#entries.set(g.id, { principal: { kind: "gateway", id: g.id, site: g.site }, tokenHash: g.tokenHash });
  }

  async authenticate(header: string | undefined): Promise<Principal> {
    const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw new FleetError("MissingToken");
    const token = match[1] as string;
    const digest = createHash("sha256").update(token).digest("hex");
    const cached = this.#verified.get(digest);
    if (cached) return cached;
    const dot = token.indexOf(".");
    const entry = dot > 0 ? this.#entries.get(token.slice(0, dot)) : undefined;
    if (!entry || !(await verifyToken(token, entry.tokenHash))) throw new FleetError("BadToken");
    if (this.#verified.size >= CACHE_SIZE) this.#verified.delete(this.#verified.keys().next().value as string);
    this.#verified.set(digest, entry.principal);
    return entry.principal;
  }
}

export function requireOperator(principal: Principal, role: "read" | "operate"): void {
  if (principal.kind !== "operator") throw new FleetError("Forbidden", "operators only: a gateway token may only sync");
  if (role === "operate" && principal.role !== "operate") throw new FleetError("Forbidden", `operator "${principal.id}" has role read; this needs operate`);
}
