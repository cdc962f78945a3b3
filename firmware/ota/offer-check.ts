// Checks an offer before a byte is downloaded (protocol/ota.ts): the signature over the manifest's
// exact bytes first (nothing unsigned is even parsed further), then the manifest's format, board,
// version against the anti-rollback floor and the running version, and size against the slot.
// Answers the manifest, or the refusal reason (OTA_REASONS) with detail.
import { decodeCborValue, OTA_DECODE_LIMITS } from "../../protocol/cbor-decoder.js";
import {
  OTA_MAX_CHUNK_BYTES, OTA_MAX_MANIFEST_BYTES, OTA_REASONS, OTA_SHA256_BYTES, OTA_SIGNATURE_BYTES,
  RELEASE_MANIFEST_FORMAT, compareVersions, parseVersion, type OtaOffer, type ReleaseManifest,
} from "../../protocol/ota.js";

export type OfferCheck =
  | { ok: true; offer: OtaOffer; manifest: ReleaseManifest }
  | { ok: false; reason: string; rv?: string };

export interface OfferContext {
  board: string;
  runningVersion: string;
  floor: string;
  slotBytes: number;
  verifySignature(message: Uint8Array, signature: Uint8Array): boolean;
}

type Fields = { readonly [key: string]: unknown };

/** decodes …/ota; null when it is not an offer at all (the reason says why) */
export function decodeOffer(bytes: Uint8Array): OtaOffer | string {
  let value: unknown;
  try {
    value = decodeCborValue(bytes, OTA_DECODE_LIMITS);
  } catch (error) {
    return `offer: ${(error as Error).message}`;
  }
  if (value === null || typeof value !== "object" || Array.isArray(value) || value instanceof Uint8Array) return "offer: not a map";
  const o = value as Fields;
  if (o.v !== 1) return `offer: version ${String(o.v)} unknown`;
  if (!(o.m instanceof Uint8Array) || o.m.length === 0 || o.m.length > OTA_MAX_MANIFEST_BYTES) return "offer: m must be the manifest bytes";
  if (!(o.g instanceof Uint8Array) || o.g.length !== OTA_SIGNATURE_BYTES) return `offer: g must be ${OTA_SIGNATURE_BYTES} bytes`;
  if (typeof o.cs !== "number" || !Number.isInteger(o.cs) || o.cs < 1 || o.cs > OTA_MAX_CHUNK_BYTES) return `offer: cs must be 1..${OTA_MAX_CHUNK_BYTES}`;
  return { v: 1, m: o.m, g: o.g, cs: o.cs };
}

function decodeManifest(bytes: Uint8Array): ReleaseManifest | string {
  let value: unknown;
  try {
    value = decodeCborValue(bytes, OTA_DECODE_LIMITS);
  } catch (error) {
    return (error as Error).message;
  }
  if (value === null || typeof value !== "object" || Array.isArray(value) || value instanceof Uint8Array) return "not a map";
  const m = value as Fields;
  if (m.mf !== RELEASE_MANIFEST_FORMAT) return `format ${String(m.mf)} unknown`;
  for (const key of ["rv", "mn", "bd", "bi"]) if (typeof m[key] !== "string") return `${key} must be text`;
  if (!parseVersion(m.rv as string)) return `rv "${String(m.rv)}" is not major.minor.patch`;
  if (!parseVersion(m.mn as string)) return `mn "${String(m.mn)}" is not major.minor.patch`;
  if (typeof m.sz !== "number" || !Number.isInteger(m.sz) || m.sz < 1) return "sz must be a positive integer";
  if (!(m.h instanceof Uint8Array) || m.h.length !== OTA_SHA256_BYTES) return `h must be ${OTA_SHA256_BYTES} bytes`;
  return { mf: RELEASE_MANIFEST_FORMAT, rv: m.rv as string, sz: m.sz, h: m.h, mn: m.mn as string, bd: m.bd as string, bi: m.bi as string };
}

export function checkOffer(offer: OtaOffer, context: OfferContext): OfferCheck {
  if (!context.verifySignature(offer.m, offer.g)) return { ok: false, reason: OTA_REASONS.badSignature };
  const manifest = decodeManifest(offer.m);
  if (typeof manifest === "string") return { ok: false, reason: `${OTA_REASONS.badManifest}: ${manifest}` };
  const rv = manifest.rv;
  if (manifest.bd !== context.board) return { ok: false, rv, reason: `${OTA_REASONS.wrongBoard}: ${manifest.bd}` };
  if (compareVersions(rv, context.floor) < 0) return { ok: false, rv, reason: `${OTA_REASONS.belowMinimum}: ${context.floor}` };
  if (compareVersions(rv, context.runningVersion) === 0) return { ok: false, rv, reason: OTA_REASONS.sameVersion };
  if (manifest.sz > context.slotBytes) return { ok: false, rv, reason: `${OTA_REASONS.tooLarge}: ${manifest.sz} > ${context.slotBytes}` };
  return { ok: true, offer, manifest };
}

export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += (bytes[i]! < 16 ? "0" : "") + bytes[i]!.toString(16);
  return out;
}
