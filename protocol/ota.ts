// The over-the-air update contract (issue 15). Runs under XS (device) and Node (gateway, CLI): no Node APIs.
//
// A release is an image plus a signed manifest. The manifest (CBOR map, below) names the version,
// the image's size and SHA-256, the board it is built for, its build id, and the anti-rollback
// floor it sets. The signature is ECDSA P-256 over the manifest's exact CBOR bytes with SHA-256,
// encoded as 64 raw bytes r || s (IEEE P1363), so the device verifies the bytes it received and
// never re-encodes anything. The device checks the signature before it downloads a byte and the
// image's SHA-256 before it switches slots.
//
// Topics (per device; not part of the sequenced data stream: they carry no sequence number, so the
// loss audit of tele/alert/status is unaffected by how many chunks a download takes):
//   vw/v1/{site}/{device}/ota      retained, gateway -> device: the offer. An empty retained payload
//                                  withdraws it (the device abandons a download of that release).
//   vw/v1/{site}/{device}/otareq   QoS 0, device -> gateway: "send me bytes [o, o+n) of release rv".
//   vw/v1/{site}/{device}/otadata  QoS 0, gateway -> device: the bytes, or "busy, ask again in w ms",
//                                  or an error. QoS 0 both ways: a lost request or reply is retried
//                                  by the device on its own timeout, and chunks never occupy the
//                                  device's store-and-forward ring or the broker's queue for it.
// Progress and outcome travel in the device's ordinary status message (Status: sl, os, ot, op, oe).
import { TOPIC_ROOT, isValidId } from "./topics.js";

/** Format of the release manifest map; a device refuses a format it does not know. */
export const RELEASE_MANIFEST_FORMAT = 1;
/** Largest chunk a gateway may send (bytes of image data per otadata message). */
export const OTA_MAX_CHUNK_BYTES = 1024;
/** Default chunk size a gateway offers. */
export const OTA_DEFAULT_CHUNK_BYTES = 512;
/** Largest manifest (CBOR bytes) a device accepts. */
export const OTA_MAX_MANIFEST_BYTES = 256;
/** ECDSA P-256 signature, r || s. */
export const OTA_SIGNATURE_BYTES = 64;
export const OTA_SHA256_BYTES = 32;

export type OtaTopicKind = "ota" | "otareq" | "otadata";
export const OTA_TOPIC_KINDS: readonly OtaTopicKind[] = ["ota", "otareq", "otadata"];

export function otaTopic(site: string, device: string, kind: OtaTopicKind): string {
  if (!isValidId(site)) throw new Error(`invalid site id "${site}"`);
  if (!isValidId(device)) throw new Error(`invalid device id "${device}"`);
  return `${TOPIC_ROOT}/${site}/${device}/${kind}`;
}

/** Subscription filter for one OTA topic kind at one site (or "+": all sites), every device. */
export function otaFilter(kind: OtaTopicKind, site = "+"): string {
  if (site !== "+" && !isValidId(site)) throw new Error(`invalid site id "${site}"`);
  return `${TOPIC_ROOT}/${site}/+/${kind}`;
}

/** Parses an OTA topic; null for anything that is not exactly one. */
export function parseOtaTopic(topic: string): { site: string; device: string; kind: OtaTopicKind } | null {
  const parts = topic.split("/");
  if (parts.length !== 5 || `${parts[0]}/${parts[1]}` !== TOPIC_ROOT) return null;
  const [site, device, kind] = [parts[2] as string, parts[3] as string, parts[4] as OtaTopicKind];
  if (!isValidId(site) || !isValidId(device) || !OTA_TOPIC_KINDS.includes(kind)) return null;
  return { site, device, kind };
}

/** The signed part of a release. Keys are short: it travels inside every offer. */
export interface ReleaseManifest {
  /** manifest format, RELEASE_MANIFEST_FORMAT */
  mf: number;
  /** release version, "major.minor.patch" */
  rv: string;
  /** image size, bytes */
  sz: number;
  /** SHA-256 of the image, 32 bytes */
  h: Uint8Array;
  /** anti-rollback floor: once this release is confirmed, the device refuses any release below mn */
  mn: string;
  /** target board, e.g. "esp32/nodemcu" or "sim" (the simulated board); a device refuses another */
  bd: string;
  /** build id (free text, e.g. a git commit), reported, never interpreted */
  bi: string;
}

/** Retained on …/ota. */
export interface OtaOffer {
  v: 1;
  /** the manifest's CBOR bytes, exactly as signed */
  m: Uint8Array;
  /** signature over m, 64 bytes */
  g: Uint8Array;
  /** chunk size the gateway serves, bytes (<= OTA_MAX_CHUNK_BYTES) */
  cs: number;
}

/** Device -> gateway on …/otareq. */
export interface OtaChunkRequest {
  v: 1;
  d: string;
  /** boot id of the asking device (the gateway's per-device download slot is keyed on it) */
  b: number;
  rv: string;
  /** offset, bytes */
  o: number;
  /** length, bytes (<= the offer's cs) */
  n: number;
}

/** Gateway -> device on …/otadata: exactly one of c, w, e is present. */
export interface OtaChunkReply {
  v: 1;
  rv: string;
  o: number;
  /** the bytes [o, o + c.length) */
  c?: Uint8Array;
  /** busy (site concurrency limit reached): ask again after w ms */
  w?: number;
  /** error text: the gateway cannot serve this request ("no release 0.3.0", "bad range") */
  e?: string;
}

/** OTA state reported in status "os". */
export type OtaState =
  | "idle" // nothing offered, or the last outcome has been reported
  | "downloading" // writing the offered image into the inactive slot
  | "verifying" // image complete: checking SHA-256 before switching
  | "pending" // booted the new image, self-test running
  | "confirmed" // self-test passed, new image made permanent
  | "rolledback" // new image failed (reason in oe), previous image running again
  | "refused" // offer refused before download (reason in oe)
  | "failed"; // download or verification failed (reason in oe); old image running
export const OTA_STATES: readonly OtaState[] = ["idle", "downloading", "verifying", "pending", "confirmed", "rolledback", "refused", "failed"];

/** Reasons reported in status "oe" (the device may append detail after ": "). */
export const OTA_REASONS = {
  badSignature: "bad signature",
  badManifest: "bad manifest",
  badHash: "bad hash",
  wrongBoard: "wrong board",
  belowMinimum: "below minimum",
  sameVersion: "same version",
  tooLarge: "too large",
  flashWrite: "flash write",
  downloadStalled: "download stalled",
  selfTestSensor: "self-test: sensor",
  selfTestMqtt: "self-test: mqtt",
  selfTestTelemetry: "self-test: telemetry",
  bootFailed: "boot failed",
} as const;

/** Parses "major.minor.patch" into a comparable triple; null if it is not one. */
export function parseVersion(version: string): [number, number, number] | null {
  const parts = version.split(".");
  if (parts.length !== 3) return null;
  const out: number[] = [];
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,5})$/.test(part)) return null;
    out.push(Number(part));
  }
  return out as [number, number, number];
}

/** Compares two versions: negative, 0, positive; throws on a malformed one. */
export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a);
  const y = parseVersion(b);
  if (!x || !y) throw new Error(`not a version: "${x ? b : a}" (want major.minor.patch)`);
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}
