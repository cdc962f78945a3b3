// The device's CBOR decoder (RFC 8949): small, bounded and safe for untrusted input, free of Node APIs.
//
// The device decodes exactly one kind of message, its retained config (.../cfg), which anyone who
// can publish on the broker can forge. So every bound is explicit and checked before any allocation:
//   - total input length (maxBytes), nesting depth (maxDepth), items per array/map (maxItems),
//     bytes per text/byte string (maxStringBytes);
//   - no tags, no indefinite lengths, no integers beyond 2^53, no trailing bytes;
//   - map keys must be text, unique, and never "__proto__" (results are plain objects).
// Errors are CborDecodeErrors whose message names the offset; nothing is thrown from deeper down.
import type { CborValue } from "./cbor-encoder.js";

export interface CborDecodeLimits {
  maxBytes: number;
  maxDepth: number;
  maxItems: number;
  maxStringBytes: number;
}

/** Enough for a config with a 16-feature baseline; small enough for an ESP32's heap. */
export const DEVICE_DECODE_LIMITS: CborDecodeLimits = { maxBytes: 1024, maxDepth: 4, maxItems: 32, maxStringBytes: 96 };

/**
 * OTA messages on the device (protocol/ota.ts): an offer carries the manifest and signature as byte
 * strings, a chunk reply up to OTA_MAX_CHUNK_BYTES of image; flat maps, few keys.
 */
export const OTA_DECODE_LIMITS: CborDecodeLimits = { maxBytes: 1024 + 64, maxDepth: 2, maxItems: 16, maxStringBytes: 1024 };

export class CborDecodeError extends Error {
  readonly offset: number;
  constructor(offset: number, message: string) {
    super(`cbor at byte ${offset}: ${message}`);
    this.name = "CborDecodeError";
    this.offset = offset;
  }
}

const TWO_POW_32 = 4294967296;
const MAX_SAFE_HIGH_WORD = 0x1fffff; // 2^53 - 1 = 0x1fffff * 2^32 + 0xffffffff

class Reader {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly limits: CborDecodeLimits;
  offset = 0;

  constructor(bytes: Uint8Array, limits: CborDecodeLimits) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.limits = limits;
  }

  need(count: number): number {
    const at = this.offset;
    if (at + count > this.bytes.length) throw new CborDecodeError(at, `truncated: need ${count} more byte(s)`);
    this.offset = at + count;
    return at;
  }

  /** The argument of a head with additional info `info` (0..27); -1 never returned. */
  argument(info: number, headAt: number): number {
    if (info < 24) return info;
    if (info === 24) return this.bytes[this.need(1)] as number;
    if (info === 25) return this.view.getUint16(this.need(2));
    if (info === 26) return this.view.getUint32(this.need(4));
    if (info === 27) {
      const at = this.need(8);
      const high = this.view.getUint32(at);
      if (high > MAX_SAFE_HIGH_WORD) throw new CborDecodeError(headAt, "integer beyond 2^53");
      return high * TWO_POW_32 + this.view.getUint32(at + 4);
    }
    if (info === 31) throw new CborDecodeError(headAt, "indefinite lengths are not accepted");
    throw new CborDecodeError(headAt, `reserved additional info ${info}`);
  }

  value(depth: number): CborValue {
    const headAt = this.offset;
    const initial = this.bytes[this.need(1)] as number;
    const major = initial >> 5;
    const info = initial & 0x1f;
    switch (major) {
      case 0:
        return this.argument(info, headAt);
      case 1:
        return -1 - this.argument(info, headAt);
      case 2: {
        const length = this.stringLength(info, headAt);
        const at = this.need(length);
        return this.bytes.slice(at, at + length);
      }
      case 3: {
        const length = this.stringLength(info, headAt);
        const at = this.need(length);
        return decodeUtf8(this.bytes, at, length);
      }
      case 4: {
        const count = this.itemCount(info, headAt, depth);
        const items: CborValue[] = [];
        for (let i = 0; i < count; i++) items.push(this.value(depth + 1));
        return items;
      }
      case 5: {
        const count = this.itemCount(info, headAt, depth);
        const record: Record<string, CborValue> = {};
        for (let i = 0; i < count; i++) {
          const keyAt = this.offset;
          const key = this.value(depth + 1);
          if (typeof key !== "string") throw new CborDecodeError(keyAt, "map keys must be text");
          if (key === "__proto__") throw new CborDecodeError(keyAt, 'map key "__proto__" is not accepted');
          if (Object.prototype.hasOwnProperty.call(record, key)) throw new CborDecodeError(keyAt, `duplicate map key "${key}"`);
          record[key] = this.value(depth + 1);
        }
        return record;
      }
      case 6:
        throw new CborDecodeError(headAt, "tags are not accepted");
      default:
        return this.simple(info, headAt);
    }
  }

  stringLength(info: number, headAt: number): number {
    const length = this.argument(info, headAt);
    if (length > this.limits.maxStringBytes) throw new CborDecodeError(headAt, `string of ${length} bytes exceeds ${this.limits.maxStringBytes}`);
    return length;
  }

  itemCount(info: number, headAt: number, depth: number): number {
    if (depth + 1 > this.limits.maxDepth) throw new CborDecodeError(headAt, `nesting deeper than ${this.limits.maxDepth}`);
    const count = this.argument(info, headAt);
    if (count > this.limits.maxItems) throw new CborDecodeError(headAt, `${count} items exceed ${this.limits.maxItems}`);
    return count;
  }

  simple(info: number, headAt: number): CborValue {
    switch (info) {
      case 20:
        return false;
      case 21:
        return true;
      case 22:
        return null;
      case 23:
        return undefined;
      case 25:
        return halfToNumber(this.view.getUint16(this.need(2)));
      case 26:
        return this.view.getFloat32(this.need(4));
      case 27:
        return this.view.getFloat64(this.need(8));
      case 31:
        throw new CborDecodeError(headAt, "unexpected break");
      default:
        throw new CborDecodeError(headAt, `simple value ${info} is not accepted`);
    }
  }
}

/** Decodes exactly one CBOR item that fills `bytes`; throws CborDecodeError on anything else. */
export function decodeCborValue(bytes: Uint8Array, limits: CborDecodeLimits = DEVICE_DECODE_LIMITS): CborValue {
  if (bytes.length > limits.maxBytes) throw new CborDecodeError(0, `message of ${bytes.length} bytes exceeds ${limits.maxBytes}`);
  if (bytes.length === 0) throw new CborDecodeError(0, "empty message");
  const reader = new Reader(bytes, limits);
  const value = reader.value(0);
  if (reader.offset !== bytes.length) throw new CborDecodeError(reader.offset, `${bytes.length - reader.offset} trailing byte(s)`);
  return value;
}

function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa ? NaN : sign * Infinity;
  return sign * (1024 + mantissa) * 2 ** (exponent - 25);
}

/** Strict UTF-8 (RFC 3629): overlong forms, surrogates and truncated sequences are errors. */
export function decodeUtf8(bytes: Uint8Array, at: number, length: number): string {
  let text = "";
  const end = at + length;
  let i = at;
  while (i < end) {
    const first = bytes[i] as number;
    let code: number;
    let extra: number;
    let min: number;
    if (first < 0x80) {
      text += String.fromCharCode(first);
      i++;
      continue;
    } else if (first >= 0xc2 && first < 0xe0) {
      code = first & 0x1f;
      extra = 1;
      min = 0x80;
    } else if (first >= 0xe0 && first < 0xf0) {
      code = first & 0x0f;
      extra = 2;
      min = 0x800;
    } else if (first >= 0xf0 && first < 0xf5) {
      code = first & 0x07;
      extra = 3;
      min = 0x10000;
    } else {
      throw new CborDecodeError(i, "invalid UTF-8");
    }
    if (i + extra >= end) throw new CborDecodeError(i, "truncated UTF-8");
    for (let k = 1; k <= extra; k++) {
      const next = bytes[i + k] as number;
      if ((next & 0xc0) !== 0x80) throw new CborDecodeError(i + k, "invalid UTF-8");
      code = (code << 6) | (next & 0x3f);
    }
    if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) throw new CborDecodeError(i, "invalid UTF-8");
    text += String.fromCodePoint(code);
    i += extra + 1;
  }
  return text;
}
