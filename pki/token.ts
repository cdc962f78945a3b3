// `pki token`: a gateway's bearer token for the ingest service. The secret is 32 random bytes,
// shown exactly once: written to a 0600 file the gateway reads (sink.tokenFile), never echoed.
// The ingest service stores only a salted hash (config gateways[].tokenHash). Token format and
// hashing are the ingest service's own (cloud/auth/token-hash.ts: "<gatewayId>.<secret>", scrypt),
// imported rather than copied so the two can never disagree.
import { existsSync } from "node:fs";
import type { PkiLayout } from "./layout.js";
import { writePublicFile, writeSecretFile } from "./secret-files.js";
import { generateToken, hashToken } from "../cloud/auth/token-hash.js";

export interface CreatedToken {
  gateway: string;
  /** path of the 0600 file holding the token; null when the caller took the token itself */
  tokenFile: string | null;
  hashFile: string;
  tokenHash: string;
  /** YAML lines for the ingest config's `gateways:` list */
  configSnippet: string;
}

export interface CreateTokenOptions {
  /** replace an existing token (the old one stops working once the ingest config is updated) */
  rotate?: boolean;
  /** hand the token to this function instead of writing the token file (e.g. to stdout for a secret store) */
  takeToken?: (token: string) => void;
}

export async function createGatewayToken(layout: PkiLayout, gateway: string, options: CreateTokenOptions = {}): Promise<CreatedToken> {
  const paths = layout.token(gateway);
  if (existsSync(paths.secret) && !options.rotate) {
    throw new Error(`gateway "${gateway}" already has a token (${paths.secret}); use --rotate to replace it`);
  }
  const token = generateToken(gateway);
  const tokenHash = await hashToken(token, "scrypt");
  let tokenFile: string | null = null;
  if (options.takeToken) options.takeToken(token);
  else {
    writeSecretFile(paths.secret, `${token}\n`);
    tokenFile = paths.secret;
  }
  const configSnippet = `gateways:\n  - id: ${gateway}\n    tokenHash: "${tokenHash}"\n`;
  writePublicFile(paths.hash, configSnippet);
  return { gateway, tokenFile, hashFile: paths.hash, tokenHash, configSnippet };
}
