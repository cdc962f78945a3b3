// Issue 15, point 1: `vibewatch pki release-key` makes a P-256 key pair apart from the CA (0600
// private key, never printed); `vibewatch release sign` writes a release dir whose manifest the
// device's own CBOR decoder reads and whose signature verifies as 64 raw bytes r || s; readRelease
// refuses a tampered dir (signature, hash, size, another key) naming what is wrong.
import { afterAll, describe, expect, it } from "vitest";
import { createPublicKey, generateKeyPairSync, verify } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, copyFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../helpers/run-cli.js";
import { decodeCborValue } from "../../protocol/cbor-decoder.js";
import { OTA_MAX_MANIFEST_BYTES, RELEASE_MANIFEST_FORMAT } from "../../protocol/ota.js";
import { ReleaseError, readRelease, sha256 } from "../../gateway/ota/release-files.js";
import { releaseKeyFiles } from "../../pki/release-key.js";

const dir = mkdtempSync(join(tmpdir(), "vw-release-sign-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const keys = releaseKeyFiles(join(dir, "keys"));
const image = new Uint8Array(10_000).map((_, i) => (i * 31 + 7) & 0xff);
const imagePath = join(dir, "mc.bin");
writeFileSync(imagePath, image);

/** The base64 body of a PEM: what must never show up in any output. */
function pemBody(path: string): string {
  return readFileSync(path, "utf8").split("\n").filter((l) => l && !l.startsWith("-----")).join("");
}

function copyRelease(from: string, to: string): string {
  mkdirSync(to, { recursive: true });
  for (const name of ["image.bin", "manifest.cbor", "manifest.sig"]) copyFileSync(join(from, name), join(to, name));
  return to;
}

function refusal(fn: () => unknown): ReleaseError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ReleaseError);
    return error as ReleaseError;
  }
  throw new Error("expected a ReleaseError");
}

describe("vibewatch pki release-key", () => {
  it("writes a P-256 key pair, the private key at 0600, and prints paths only", async () => {
    const result = await runCli(["pki", "release-key", "--out", join(dir, "keys")]);
    expect(result.code, result.stderr).toBe(0);
    expect(statSync(keys.privateKey).mode & 0o777).toBe(0o600);
    const publicKey = createPublicKey(readFileSync(keys.publicPem, "utf8"));
    expect(publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    const raw = readFileSync(keys.publicRaw);
    expect(raw.length).toBe(65);
    expect(raw[0]).toBe(4);
    // the raw point is the same key: rebuild it from X and Y
    const jwk = publicKey.export({ format: "jwk" });
    expect(Buffer.concat([Buffer.of(4), Buffer.from(jwk.x as string, "base64url"), Buffer.from(jwk.y as string, "base64url")]).equals(raw)).toBe(true);
    const secret = pemBody(keys.privateKey);
    expect(result.stdout + result.stderr).not.toContain(secret.slice(0, 40));
    expect(result.stdout).toContain(keys.privateKey);
  });

  it("never overwrites an existing key", async () => {
    const before = readFileSync(keys.privateKey, "utf8");
    const result = await runCli(["pki", "release-key", "--out", join(dir, "keys")]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/exists: a release key is never overwritten/);
    expect(readFileSync(keys.privateKey, "utf8")).toBe(before);
  });
});

describe("vibewatch release sign", () => {
  const out = join(dir, "release-0.3.0");

  it("writes image, manifest and a 64-byte r||s signature that the device's decoder and node's verify accept", async () => {
    const result = await runCli(["release", "sign", "--key", keys.privateKey, "--image", imagePath, "--version", "0.3.0", "--min-version", "0.2.0", "--board", "sim", "--build-id", "abc123", "--out", out]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/release 0\.3\.0 written/);
    expect(result.stdout + result.stderr).not.toContain(pemBody(keys.privateKey).slice(0, 40));
    const manifestBytes = new Uint8Array(readFileSync(join(out, "manifest.cbor")));
    const signature = readFileSync(join(out, "manifest.sig"));
    expect(signature.length).toBe(64);
    expect(manifestBytes.length).toBeLessThanOrEqual(OTA_MAX_MANIFEST_BYTES);
    // the device's decoder, with a profile that allows the 32-byte hash
    const manifest = decodeCborValue(manifestBytes, { maxBytes: OTA_MAX_MANIFEST_BYTES, maxDepth: 2, maxItems: 8, maxStringBytes: 32 }) as Record<string, unknown>;
    expect(manifest).toEqual({ mf: RELEASE_MANIFEST_FORMAT, rv: "0.3.0", sz: image.length, h: sha256(image), mn: "0.2.0", bd: "sim", bi: "abc123" });
    expect(verify("sha256", manifestBytes, { key: readFileSync(keys.publicPem, "utf8"), dsaEncoding: "ieee-p1363" }, signature)).toBe(true);
    expect(new Uint8Array(readFileSync(join(out, "image.bin")))).toEqual(image);
    expect(readRelease(out, readFileSync(keys.publicPem, "utf8")).manifest.rv).toBe("0.3.0");
  });

  it("defaults: board esp32, no anti-rollback floor (0.0.0), empty build id", async () => {
    const plain = join(dir, "release-0.4.0");
    const result = await runCli(["release", "sign", "--key", keys.privateKey, "--image", imagePath, "--version", "0.4.0", "--out", plain]);
    expect(result.code, result.stderr).toBe(0);
    const { manifest } = readRelease(plain, readFileSync(keys.publicPem, "utf8"));
    expect([manifest.bd, manifest.mn, manifest.bi]).toEqual(["esp32", "0.0.0", ""]);
  });

  it("refuses bad input by name: a version, a floor above the version, a key that is not P-256", async () => {
    const badVersion = await runCli(["release", "sign", "--key", keys.privateKey, "--image", imagePath, "--version", "1.2", "--out", join(dir, "x")]);
    expect(badVersion.code).toBe(2);
    expect(badVersion.stderr).toMatch(/--version must be major\.minor\.patch/);
    const floor = await runCli(["release", "sign", "--key", keys.privateKey, "--image", imagePath, "--version", "0.3.0", "--min-version", "0.4.0", "--out", join(dir, "x")]);
    expect(floor.code).toBe(1);
    expect(floor.stderr).toMatch(/bad manifest: mn: minimum version 0\.4\.0 is above the release's own version 0\.3\.0/);
    const rsaPath = join(dir, "rsa.pem");
    writeFileSync(rsaPath, generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }));
    const rsa = await runCli(["release", "sign", "--key", rsaPath, "--image", imagePath, "--version", "0.3.0", "--out", join(dir, "x")]);
    expect(rsa.code).toBe(1);
    expect(rsa.stderr).toMatch(/bad key: the release key must be ECDSA P-256 \(got rsa\)/);
    expect(rsa.stderr).not.toContain(pemBody(rsaPath).slice(0, 40));
  });
});

describe("readRelease refuses a tampered release dir, naming what is wrong", () => {
  const good = join(dir, "release-0.3.0");
  const publicPem = () => readFileSync(keys.publicPem, "utf8");

  it("a changed image byte: bad hash", () => {
    const copy = copyRelease(good, join(dir, "t-hash"));
    const bytes = readFileSync(join(copy, "image.bin"));
    bytes[5000] = (bytes[5000] as number) ^ 0xff;
    writeFileSync(join(copy, "image.bin"), bytes);
    expect(refusal(() => readRelease(copy, publicPem())).message).toMatch(/^bad hash: image SHA-256 [0-9a-f]{64} is not the manifest's/);
  });

  it("a truncated image: wrong size", () => {
    const copy = copyRelease(good, join(dir, "t-size"));
    writeFileSync(join(copy, "image.bin"), readFileSync(join(copy, "image.bin")).subarray(0, 9000));
    expect(refusal(() => readRelease(copy, publicPem())).message).toBe("wrong size: image is 9000 bytes, the manifest says 10000");
  });

  it("a changed signature byte, a changed manifest, another key: bad signature", () => {
    const sig = copyRelease(good, join(dir, "t-sig"));
    const signature = readFileSync(join(sig, "manifest.sig"));
    signature[10] = (signature[10] as number) ^ 1;
    writeFileSync(join(sig, "manifest.sig"), signature);
    expect(refusal(() => readRelease(sig, publicPem())).problem).toBe("bad signature");

    const manifest = copyRelease(good, join(dir, "t-manifest"));
    const bytes = readFileSync(join(manifest, "manifest.cbor"));
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1; // last byte of the build id
    writeFileSync(join(manifest, "manifest.cbor"), bytes);
    expect(refusal(() => readRelease(manifest, publicPem())).problem).toBe("bad signature");

    const other = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();
    expect(refusal(() => readRelease(good, other)).message).toBe("bad signature: the manifest's signature does not verify with the release public key");
  });

  it("a missing file: named with its path", () => {
    const copy = copyRelease(good, join(dir, "t-missing"));
    rmSync(join(copy, "manifest.sig"));
    expect(refusal(() => readRelease(copy, publicPem())).message).toMatch(/^missing file: .*t-missing\/manifest\.sig \(ENOENT\)/);
  });
});
