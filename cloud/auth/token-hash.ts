// Gateway bearer tokens, stored hashed in the ingest config and compared in constant time.
//
// Token:  "<gatewayId>.<secret>" (secret: 32 random bytes, base64url). The gateway-id prefix only
//         picks the entry to check; the whole token is what gets hashed.
// Hash:   "scrypt:<salt hex>:<hash hex>"  scrypt(token, salt, 32 bytes, N=16384, r=8, p=1) (default)
//         "sha256:<salt hex>:<hash hex>"  sha256(salt || token), for tokens that are already
//                                         high-entropy random strings and hosts short of CPU.
// `vibewatch ingest --hash-token` prints the hash line of a token read from stdin.
import { createHash, randomBytes, scrypt as scryptCallback, timingSafeEqual, type BinaryLike, type ScryptOptions } from "node:crypto";

export type TokenHashAlgorithm = "scrypt" | "sha256";

const SCRYPT_OPTIONS: ScryptOptions = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const HASH_BYTES = 32;

function scrypt(token: BinaryLike, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCallback(token, salt, HASH_BYTES, SCRYPT_OPTIONS, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

function sha256(salt: Buffer, token: string): Buffer {
  return createHash("sha256").update(salt).update(token, "utf8").digest();
}

/** A new random token for a gateway: "<gatewayId>.<secret>". */
export function generateToken(gatewayId: string): string {
  return `${gatewayId}.${randomBytes(32).toString("base64url")}`;
}

/** The stored form of a token ("scrypt:<salt>:<hash>" or "sha256:<salt>:<hash>"). */
export async function hashToken(token: string, algorithm: TokenHashAlgorithm = "scrypt"): Promise<string> {
  const salt = randomBytes(16);
  const hash = algorithm === "scrypt" ? await scrypt(token, salt) : sha256(salt, token);
  return `${algorithm}:${salt.toString("hex")}:${hash.toString("hex")}`;
}

/** true when `token` hashes to `stored`; constant-time comparison of the digests. */
export async function verifyToken(token: string, stored: string): Promise<boolean> {
  const [algorithm, saltHex, hashHex] = stored.split(":");
  if (!saltHex || !hashHex || (algorithm !== "scrypt" && algorithm !== "sha256")) return false;
  const salt = Buffer.from(saltHex, "hex");
  const expected = Buffer.from(hashHex, "hex");
  const actual = algorithm === "scrypt" ? await scrypt(token, salt) : sha256(salt, token);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
