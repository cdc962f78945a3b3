// Releases for the device-side OTA tests, signed here with node:crypto exactly as the contract says
// (protocol/ota.ts: ECDSA P-256 over the manifest's CBOR bytes with SHA-256, r || s), plus the
// deliberately bad ones (tampered signature, wrong hash, other board, below the floor) and the
// images: the firmware bundle built as another version, and the broken builds of test/ota/fixtures/.
import { createHash, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { encodeCbor } from "../../../protocol/cbor-encoder.js";
import { OTA_DEFAULT_CHUNK_BYTES, RELEASE_MANIFEST_FORMAT, type ReleaseManifest } from "../../../protocol/ota.js";
import { bundleFirmware } from "../../../simulator/bundle-firmware.js";

export interface ReleaseKey {
  privateKey: KeyObject;
  /** "04" || x || y, what the device build carries (BootOptions.ota.publicKeyHex) */
  publicKeyHex: string;
  publicKeyPem: string;
}

export function makeReleaseKey(): ReleaseKey {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = publicKey.export({ format: "jwk" });
  const coordinate = (value: string | undefined) => Buffer.from(value ?? "", "base64url").toString("hex").padStart(64, "0");
  return { privateKey, publicKeyHex: `04${coordinate(jwk.x)}${coordinate(jwk.y)}`, publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString() };
}

export interface TestRelease {
  manifest: ReleaseManifest;
  manifestBytes: Uint8Array;
  signature: Uint8Array;
  image: Uint8Array;
}

export interface ReleaseInput {
  image: Uint8Array;
  version: string;
  minVersion?: string;
  board?: string;
  /** sign with this key instead (a bad signature: the device knows another key) */
  signWith?: KeyObject;
  /** the manifest names this hash instead of the image's (a wrong hash) */
  hash?: Uint8Array;
}

export function makeRelease(key: ReleaseKey, input: ReleaseInput): TestRelease {
  const manifest: ReleaseManifest = {
    mf: RELEASE_MANIFEST_FORMAT,
    rv: input.version,
    sz: input.image.length,
    h: input.hash ?? new Uint8Array(createHash("sha256").update(input.image).digest()),
    mn: input.minVersion ?? "0.0.0",
    bd: input.board ?? "sim",
    bi: `test-${input.version}`,
  };
  const { mf, rv, sz, h, mn, bd, bi } = manifest;
  const manifestBytes = encodeCbor({ mf, rv, sz, h, mn, bd, bi }, 256).slice();
  const signature = new Uint8Array(sign("sha256", manifestBytes, { key: input.signWith ?? key.privateKey, dsaEncoding: "ieee-p1363" }));
  return { manifest, manifestBytes, signature, image: input.image };
}

/** the retained offer's payload (protocol/ota.ts OtaOffer) */
export function offerBytes(release: TestRelease, chunkBytes = OTA_DEFAULT_CHUNK_BYTES): Uint8Array {
  return encodeCbor({ v: 1, m: release.manifestBytes, g: release.signature, cs: chunkBytes }, 512).slice();
}

/** a fixture entry of test/ota/fixtures/, bundled as the simulator bundles the firmware: the image bytes */
export async function fixtureImage(name: string): Promise<Uint8Array> {
  return new TextEncoder().encode(await bundleFirmware(`test/ota/fixtures/${name}.ts`));
}
