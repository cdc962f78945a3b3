// A release on disk and on the wire (issue 15, protocol/ota.ts): the image, its manifest (CBOR,
// encoded with the device's own encoder so the device decodes exactly these bytes) and the
// signature over the manifest bytes (ECDSA P-256 with SHA-256, 64 raw bytes r || s).
//
//   <dir>/image.bin      the firmware image, byte for byte what the device writes to its slot
//   <dir>/manifest.cbor  the signed manifest (ReleaseManifest)
//   <dir>/manifest.sig   64 bytes r || s (IEEE P1363), over manifest.cbor's exact bytes
//
// Used by `vibewatch release sign`, `vibewatch ota offer`, the gateway's release store and tests.
// Every refusal is a ReleaseError naming what is wrong (signature, manifest field, size, hash).
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeCbor } from "../../protocol/cbor-encoder.js";
import { decodeCborValue, type CborDecodeLimits } from "../../protocol/cbor-decoder.js";
import {
  OTA_MAX_MANIFEST_BYTES,
  OTA_SHA256_BYTES,
  OTA_SIGNATURE_BYTES,
  RELEASE_MANIFEST_FORMAT,
  compareVersions,
  parseVersion,
  type ReleaseManifest,
} from "../../protocol/ota.js";

export const IMAGE_FILE = "image.bin";
export const MANIFEST_FILE = "manifest.cbor";
export const SIGNATURE_FILE = "manifest.sig";
export const RELEASE_FILES = [IMAGE_FILE, MANIFEST_FILE, SIGNATURE_FILE] as const;

export const DEFAULT_BOARD = "esp32";
/** The floor a release sets when --min-version is not given: it raises no anti-rollback floor. */
export const NO_FLOOR_VERSION = "0.0.0";
/** Largest image accepted anywhere (the ESP32's largest flash is 16 MiB; app slots are smaller). */
export const MAX_IMAGE_BYTES = 16 * 1024 * 1024;
/** Text fields of the manifest: short enough that the manifest stays under OTA_MAX_MANIFEST_BYTES. */
export const MAX_BOARD_CHARS = 32;
export const MAX_BUILD_ID_CHARS = 64;

/**
 * What the device's decoder (protocol/cbor-decoder.ts) must accept to read a manifest: the manifest
 * is one flat map of 7 keys with a 32-byte hash. The gateway decodes with the same decoder and the
 * same bounds, so a manifest the gateway accepts is one the device can read.
 */
export const MANIFEST_DECODE_LIMITS: CborDecodeLimits = { maxBytes: OTA_MAX_MANIFEST_BYTES, maxDepth: 2, maxItems: 16, maxStringBytes: 96 };

export type ReleaseProblem = "missing file" | "bad signature" | "bad manifest" | "wrong size" | "bad hash" | "bad key";

export class ReleaseError extends Error {
  constructor(
    readonly problem: ReleaseProblem,
    detail: string,
  ) {
    super(`${problem}: ${detail}`);
    this.name = "ReleaseError";
  }
}

/** The three parts of a release, as bytes. */
export interface ReleaseParts {
  image: Uint8Array;
  manifestBytes: Uint8Array;
  signature: Uint8Array;
}

/** A release whose signature, size and hash were checked. */
export interface VerifiedRelease extends ReleaseParts {
  manifest: ReleaseManifest;
}

export interface SignReleaseInput {
  image: Uint8Array;
  version: string;
  /** anti-rollback floor (default NO_FLOOR_VERSION) */
  minVersion?: string;
  board?: string;
  buildId?: string;
  /** PKCS#8 or SEC1 PEM of the P-256 release-signing key */
  privateKeyPem: string;
}

export interface SignedRelease {
  manifest: ReleaseManifest;
  manifestBytes: Uint8Array;
  signature: Uint8Array;
}

export function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(bytes).digest());
}

/** The P-256 key in `pem`, or a ReleaseError("bad key") saying why not. */
function p256Key(pem: string, kind: "private" | "public"): KeyObject {
  let key: KeyObject;
  try {
    key = kind === "private" ? createPrivateKey(pem) : createPublicKey(pem);
  } catch (error) {
    throw new ReleaseError("bad key", `not a PEM ${kind} key (${(error as Error).message})`);
  }
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType !== "ec" || curve !== "prime256v1") {
    throw new ReleaseError("bad key", `the release key must be ECDSA P-256 (got ${key.asymmetricKeyType ?? "?"}${curve ? ` ${curve}` : ""})`);
  }
  return key;
}

/** Throws a ReleaseError("bad key") unless `pem` is a P-256 public key (checked once at start). */
export function checkPublicKey(pem: string): void {
  p256Key(pem, "public");
}

/** Checks the fields of a manifest (values, not bytes); throws a ReleaseError("bad manifest") naming the field. */
export function checkManifest(manifest: ReleaseManifest): ReleaseManifest {
  const bad = (field: string, detail: string) => new ReleaseError("bad manifest", `${field}: ${detail}`);
  if (manifest.mf !== RELEASE_MANIFEST_FORMAT) throw bad("mf", `unknown manifest format ${String(manifest.mf)} (this build reads ${RELEASE_MANIFEST_FORMAT})`);
  if (typeof manifest.rv !== "string" || !parseVersion(manifest.rv)) throw bad("rv", `not a version: ${JSON.stringify(manifest.rv)} (want major.minor.patch)`);
  if (typeof manifest.mn !== "string" || !parseVersion(manifest.mn)) throw bad("mn", `not a version: ${JSON.stringify(manifest.mn)} (want major.minor.patch)`);
  if (compareVersions(manifest.mn, manifest.rv) > 0) throw bad("mn", `minimum version ${manifest.mn} is above the release's own version ${manifest.rv}`);
  if (!Number.isInteger(manifest.sz) || manifest.sz < 1 || manifest.sz > MAX_IMAGE_BYTES) throw bad("sz", `image size ${String(manifest.sz)} outside 1..${MAX_IMAGE_BYTES} bytes`);
  if (!(manifest.h instanceof Uint8Array) || manifest.h.length !== OTA_SHA256_BYTES) throw bad("h", `want a ${OTA_SHA256_BYTES}-byte SHA-256`);
  if (typeof manifest.bd !== "string" || manifest.bd.length < 1 || manifest.bd.length > MAX_BOARD_CHARS) throw bad("bd", `board must be 1..${MAX_BOARD_CHARS} characters`);
  if (typeof manifest.bi !== "string" || manifest.bi.length > MAX_BUILD_ID_CHARS) throw bad("bi", `build id must be at most ${MAX_BUILD_ID_CHARS} characters`);
  return manifest;
}

/** The manifest's CBOR bytes, from the device's encoder (keys in the contract's order). */
export function encodeManifest(manifest: ReleaseManifest): Uint8Array {
  checkManifest(manifest);
  const { mf, rv, sz, h, mn, bd, bi } = manifest;
  const bytes = encodeCbor({ mf, rv, sz, h, mn, bd, bi }, OTA_MAX_MANIFEST_BYTES);
  return bytes.slice();
}

/** Decodes manifest bytes with the device's decoder and bounds; throws ReleaseError("bad manifest"). */
export function decodeManifest(bytes: Uint8Array): ReleaseManifest {
  if (bytes.length > OTA_MAX_MANIFEST_BYTES) throw new ReleaseError("bad manifest", `${bytes.length} bytes, a device accepts at most ${OTA_MAX_MANIFEST_BYTES}`);
  let value: unknown;
  try {
    value = decodeCborValue(bytes, MANIFEST_DECODE_LIMITS);
  } catch (error) {
    throw new ReleaseError("bad manifest", (error as Error).message);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Uint8Array) throw new ReleaseError("bad manifest", "not a CBOR map");
  const map = value as Record<string, unknown>;
  const known = ["mf", "rv", "sz", "h", "mn", "bd", "bi"];
  for (const key of Object.keys(map)) if (!known.includes(key)) throw new ReleaseError("bad manifest", `${key}: unknown key`);
  for (const key of known) if (!(key in map)) throw new ReleaseError("bad manifest", `${key}: missing`);
  return checkManifest(map as unknown as ReleaseManifest);
}

/** Builds and signs the manifest of `image`. The private key is used here and nowhere else. */
export function signRelease(input: SignReleaseInput): SignedRelease {
  if (input.image.length < 1 || input.image.length > MAX_IMAGE_BYTES) throw new ReleaseError("wrong size", `image is ${input.image.length} bytes, want 1..${MAX_IMAGE_BYTES}`);
  const manifest: ReleaseManifest = {
    mf: RELEASE_MANIFEST_FORMAT,
    rv: input.version,
    sz: input.image.length,
    h: sha256(input.image),
    mn: input.minVersion ?? NO_FLOOR_VERSION,
    bd: input.board ?? DEFAULT_BOARD,
    bi: input.buildId ?? "",
  };
  const manifestBytes = encodeManifest(manifest);
  const key = p256Key(input.privateKeyPem, "private");
  const signature = new Uint8Array(sign("sha256", manifestBytes, { key, dsaEncoding: "ieee-p1363" }));
  return { manifest, manifestBytes, signature };
}

/** Verifies the signature over manifest bytes, then decodes and checks the manifest. */
export function verifyManifest(manifestBytes: Uint8Array, signature: Uint8Array, publicKeyPem: string): ReleaseManifest {
  const key = p256Key(publicKeyPem, "public");
  if (signature.length !== OTA_SIGNATURE_BYTES) throw new ReleaseError("bad signature", `${signature.length} bytes, want ${OTA_SIGNATURE_BYTES} (r || s)`);
  if (manifestBytes.length > OTA_MAX_MANIFEST_BYTES) throw new ReleaseError("bad manifest", `${manifestBytes.length} bytes, a device accepts at most ${OTA_MAX_MANIFEST_BYTES}`);
  // the signature first: nothing of an unsigned manifest is believed, not even its version
  if (!verify("sha256", manifestBytes, { key, dsaEncoding: "ieee-p1363" }, signature)) {
    throw new ReleaseError("bad signature", "the manifest's signature does not verify with the release public key");
  }
  return decodeManifest(manifestBytes);
}

/** Verifies signature, manifest, size and hash of a release's bytes against the site's release public key. */
export function verifyRelease(parts: ReleaseParts, publicKeyPem: string): VerifiedRelease {
  const manifest = verifyManifest(parts.manifestBytes, parts.signature, publicKeyPem);
  checkImage(parts.image, manifest);
  return { ...parts, manifest };
}

/** The image is the one the manifest names: its size, then its SHA-256. */
export function checkImage(image: Uint8Array, manifest: ReleaseManifest): void {
  if (image.length !== manifest.sz) throw new ReleaseError("wrong size", `image is ${image.length} bytes, the manifest says ${manifest.sz}`);
  const digest = sha256(image);
  if (!equalBytes(digest, manifest.h)) throw new ReleaseError("bad hash", `image SHA-256 ${hex(digest)} is not the manifest's ${hex(manifest.h)}`);
}

/** Writes the three files of a release into `dir` (created if missing). */
export function writeReleaseDir(dir: string, release: ReleaseParts): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, IMAGE_FILE), release.image);
  writeFileSync(join(dir, MANIFEST_FILE), release.manifestBytes);
  writeFileSync(join(dir, SIGNATURE_FILE), release.signature);
}

/** Reads the three files of a release dir without checking them. */
export function readReleaseParts(dir: string): ReleaseParts {
  const read = (name: string) => {
    try {
      return new Uint8Array(readFileSync(join(dir, name)));
    } catch (error) {
      throw new ReleaseError("missing file", `${join(dir, name)} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
  };
  return { image: read(IMAGE_FILE), manifestBytes: read(MANIFEST_FILE), signature: read(SIGNATURE_FILE) };
}

/** Reads and verifies a release dir; throws a ReleaseError naming what is wrong. */
export function readRelease(dir: string, publicKeyPem: string): VerifiedRelease {
  return verifyRelease(readReleaseParts(dir), publicKeyPem);
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}
