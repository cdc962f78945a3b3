// The release-signing key pair (issue 15): ECDSA P-256, kept apart from the TLS CA (own folder,
// own file names; the CA signs identities, this key signs firmware). The private key is written
// once at 0600 and never printed or logged; the public key goes to the gateways (PEM) and into the
// device build (the raw point).
//
//   <dir>/release-signing.key      PKCS#8 PEM private key, 0600: `vibewatch release sign --key`
//   <dir>/release-signing.pub.pem  SPKI PEM public key: gateway `ota.releasePublicKeyFile`, `ota offer --public-key`
//   <dir>/release-signing.pub.raw  65 bytes 0x04 || X || Y (uncompressed P-256 point): the device's copy
//                                  (Moddable's modules/crypt/etc/ecdsa.js verifies with that point)
import { createPublicKey, generateKeyPairSync } from "node:crypto";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { writePublicFile, writeSecretFile } from "./secret-files.js";

export const RELEASE_PRIVATE_KEY_FILE = "release-signing.key";
export const RELEASE_PUBLIC_PEM_FILE = "release-signing.pub.pem";
export const RELEASE_PUBLIC_RAW_FILE = "release-signing.pub.raw";

export interface ReleaseKeyFiles {
  privateKey: string;
  publicPem: string;
  publicRaw: string;
}

export function releaseKeyFiles(dir: string): ReleaseKeyFiles {
  const root = resolve(dir);
  return { privateKey: join(root, RELEASE_PRIVATE_KEY_FILE), publicPem: join(root, RELEASE_PUBLIC_PEM_FILE), publicRaw: join(root, RELEASE_PUBLIC_RAW_FILE) };
}

/** The uncompressed point (0x04 || X || Y, 65 bytes) of a P-256 public key in PEM. */
export function rawPublicPoint(publicPem: string): Uint8Array {
  const jwk = createPublicKey(publicPem).export({ format: "jwk" });
  if (jwk.crv !== "P-256" || !jwk.x || !jwk.y) throw new Error("not a P-256 public key");
  const x = Buffer.from(jwk.x, "base64url");
  const y = Buffer.from(jwk.y, "base64url");
  return new Uint8Array(Buffer.concat([Buffer.of(4), x, y]));
}

/** Creates the key pair in `dir`; refuses to overwrite an existing one (devices trust it). */
export function createReleaseKey(dir: string): ReleaseKeyFiles {
  const files = releaseKeyFiles(dir);
  for (const path of Object.values(files)) {
    if (existsSync(path)) throw new Error(`${path} exists: a release key is never overwritten (devices built with it would refuse every new release)`);
  }
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const publicPem = publicKey.export({ type: "spki", format: "pem" }).toString();
  writeSecretFile(files.privateKey, privateKey.export({ type: "pkcs8", format: "pem" }).toString());
  writePublicFile(files.publicPem, publicPem);
  writePublicFile(files.publicRaw, rawPublicPoint(publicPem));
  return files;
}
