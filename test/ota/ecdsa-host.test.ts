// The simulator's ECDSA P-256 digest verification (simulator/crypt-host.ts), which stands where
// Moddable's ecdsa.verify(H, sig) runs on the device, agrees with node:crypto: it accepts what
// node:crypto signs and refuses a changed digest, a changed signature, another key, and r or s
// outside 1..n-1.
import { createHash, generateKeyPairSync, sign } from "node:crypto";
import { describe, expect, it } from "vitest";
import { verifyP256Digest } from "../../simulator/crypt-host.js";
import { makeReleaseKey } from "./helpers/test-release.js";

const N_HEX = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";

describe("ECDSA P-256 over a digest (simulated ecdsa.verify)", () => {
  const key = makeReleaseKey();
  const x = key.publicKeyHex.slice(2, 66);
  const y = key.publicKeyHex.slice(66);

  it("accepts node:crypto's signatures of 20 messages and refuses each altered", () => {
    for (let i = 0; i < 20; i++) {
      const message = Buffer.from(`manifest ${i} ${"x".repeat(i * 7)}`);
      const signature = sign("sha256", message, { key: key.privateKey, dsaEncoding: "ieee-p1363" }).toString("hex");
      const digest = createHash("sha256").update(message).digest("hex");
      expect(verifyP256Digest(x, y, digest, signature)).toBe(true);
      const otherDigest = createHash("sha256").update(Buffer.concat([message, Buffer.from("!")])).digest("hex");
      expect(verifyP256Digest(x, y, otherDigest, signature)).toBe(false);
      const flipped = (parseInt(signature[10]!, 16) ^ 1).toString(16);
      expect(verifyP256Digest(x, y, digest, signature.slice(0, 10) + flipped + signature.slice(11))).toBe(false);
    }
  });

  it("refuses another key's signature, a point off the curve, and r or s out of range", () => {
    const other = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    const message = Buffer.from("release 0.3.0");
    const digest = createHash("sha256").update(message).digest("hex");
    const foreign = sign("sha256", message, { key: other, dsaEncoding: "ieee-p1363" }).toString("hex");
    expect(verifyP256Digest(x, y, digest, foreign)).toBe(false);
    const good = sign("sha256", message, { key: key.privateKey, dsaEncoding: "ieee-p1363" }).toString("hex");
    const badY = (BigInt(`0x${y}`) ^ 1n).toString(16).padStart(64, "0");
    expect(verifyP256Digest(x, badY, digest, good)).toBe(false);
    expect(verifyP256Digest(x, y, digest, "00".repeat(32) + good.slice(64))).toBe(false);
    expect(verifyP256Digest(x, y, digest, good.slice(0, 64) + N_HEX)).toBe(false);
    expect(verifyP256Digest(x, y, digest, good.slice(0, 100))).toBe(false);
  });
});
