// The device's CBOR encoder (RFC 8949), small enough for an ESP32 and free of Node APIs.
//
// Subset: unsigned and negative integers up to 2^53, floats in their shortest exact form
// (half, single or double: RFC 8949 §4.2.2 preferred serialization), text strings (UTF-8),
// byte strings, definite-length arrays and maps, true/false/null/undefined.
// No tags, no indefinite lengths, no bigints: the device never needs them.
//
// It writes into one buffer allocated in the constructor; encoding a message allocates nothing
// (except strings' length pass, which only reads). `bytes()` returns a view of the buffer;
// callers that keep the message (the ring) copy it once.

const MAJOR_UINT = 0;
const MAJOR_NEGINT = 1;
const MAJOR_BYTES = 2;
const MAJOR_TEXT = 3;
const MAJOR_ARRAY = 4;
const MAJOR_MAP = 5;
const SIMPLE_FALSE = 0xf4;
const SIMPLE_TRUE = 0xf5;
const SIMPLE_NULL = 0xf6;
const SIMPLE_UNDEFINED = 0xf7;
const FLOAT16 = 0xf9;
const FLOAT32 = 0xfa;
const FLOAT64 = 0xfb;
const TWO_POW_32 = 4294967296;

export class CborOverflowError extends RangeError {
  constructor(capacity: number) {
    super(`cbor: message exceeds the encoder's ${capacity}-byte buffer`);
    this.name = "CborOverflowError";
  }
}

export type CborValue =
  | number
  | string
  | boolean
  | null
  | undefined
  | Uint8Array
  | readonly CborValue[]
  | { readonly [key: string]: CborValue };

export class CborEncoder {
  // kept as an ArrayBuffer (not buffer.buffer, typed ArrayBufferLike) so slice() type-checks
  // against the Moddable SDK's typings too, where ArrayBufferLike includes HostBuffer
  readonly #arrayBuffer: ArrayBuffer;
  readonly #buffer: Uint8Array;
  readonly #view: DataView;
  // 4 bytes for float bit tricks, made once so encoding a float allocates nothing.
  readonly #scratch = new DataView(new ArrayBuffer(4));
  #position = 0;

  constructor(capacityBytes = 256) {
    this.#arrayBuffer = new ArrayBuffer(capacityBytes);
    this.#buffer = new Uint8Array(this.#arrayBuffer);
    this.#view = new DataView(this.#arrayBuffer);
  }

  get length(): number {
    return this.#position;
  }

  reset(): this {
    this.#position = 0;
    return this;
  }

  /** A view of the encoded bytes; valid until the next reset(). */
  bytes(): Uint8Array {
    return this.#buffer.subarray(0, this.#position);
  }

  /** A fresh ArrayBuffer holding a copy of the encoded bytes (what an MQTT client sends). */
  toArrayBuffer(): ArrayBuffer {
    return this.#arrayBuffer.slice(0, this.#position);
  }

  #reserve(count: number): number {
    const at = this.#position;
    if (at + count > this.#buffer.length) throw new CborOverflowError(this.#buffer.length);
    this.#position = at + count;
    return at;
  }

  #head(major: number, argument: number): void {
    const m = major << 5;
    if (argument < 24) {
      this.#buffer[this.#reserve(1)] = m | argument;
    } else if (argument < 0x100) {
      const at = this.#reserve(2);
      this.#buffer[at] = m | 24;
      this.#buffer[at + 1] = argument;
    } else if (argument < 0x10000) {
      const at = this.#reserve(3);
      this.#buffer[at] = m | 25;
      this.#view.setUint16(at + 1, argument);
    } else if (argument < TWO_POW_32) {
      const at = this.#reserve(5);
      this.#buffer[at] = m | 26;
      this.#view.setUint32(at + 1, argument);
    } else {
      const at = this.#reserve(9);
      this.#buffer[at] = m | 27;
      this.#view.setUint32(at + 1, Math.floor(argument / TWO_POW_32));
      this.#view.setUint32(at + 5, argument % TWO_POW_32);
    }
  }

  /** An integer in [-(2^53 - 1), 2^53 - 1]. */
  int(value: number): this {
    if (!Number.isSafeInteger(value)) throw new RangeError(`cbor: ${value} is not a safe integer`);
    if (value >= 0) this.#head(MAJOR_UINT, value);
    else this.#head(MAJOR_NEGINT, -1 - value);
    return this;
  }

  /** A float in its shortest exact encoding (half, single, double). */
  float(value: number): this {
    const half = halfBitsIfExact(value, this.#scratch);
    if (half >= 0) {
      const at = this.#reserve(3);
      this.#buffer[at] = FLOAT16;
      this.#view.setUint16(at + 1, half);
    } else if (Math.fround(value) === value) {
      const at = this.#reserve(5);
      this.#buffer[at] = FLOAT32;
      this.#view.setFloat32(at + 1, value);
    } else {
      const at = this.#reserve(9);
      this.#buffer[at] = FLOAT64;
      this.#view.setFloat64(at + 1, value);
    }
    return this;
  }

  /** Integers as integers, everything else as the shortest exact float. */
  number(value: number): this {
    return Number.isSafeInteger(value) && !Object.is(value, -0) ? this.int(value) : this.float(value);
  }

  text(value: string): this {
    const byteLength = utf8Length(value);
    this.#head(MAJOR_TEXT, byteLength);
    const at = this.#reserve(byteLength);
    writeUtf8(value, this.#buffer, at);
    return this;
  }

  byteString(value: Uint8Array): this {
    this.#head(MAJOR_BYTES, value.length);
    const at = this.#reserve(value.length);
    this.#buffer.set(value, at);
    return this;
  }

  array(length: number): this {
    this.#head(MAJOR_ARRAY, length);
    return this;
  }

  map(pairCount: number): this {
    this.#head(MAJOR_MAP, pairCount);
    return this;
  }

  bool(value: boolean): this {
    this.#buffer[this.#reserve(1)] = value ? SIMPLE_TRUE : SIMPLE_FALSE;
    return this;
  }

  null(): this {
    this.#buffer[this.#reserve(1)] = SIMPLE_NULL;
    return this;
  }

  undefined(): this {
    this.#buffer[this.#reserve(1)] = SIMPLE_UNDEFINED;
    return this;
  }

  /** Any value of the subset, recursively (maps keep insertion order). */
  value(value: CborValue, depth = 0): this {
    if (depth > 16) throw new RangeError("cbor: nesting deeper than 16");
    if (value === null) return this.null();
    switch (typeof value) {
      case "undefined":
        return this.undefined();
      case "boolean":
        return this.bool(value);
      case "number":
        return this.number(value);
      case "string":
        return this.text(value);
      case "object":
        break;
      default:
        throw new TypeError(`cbor: cannot encode a ${typeof value}`);
    }
    if (value instanceof Uint8Array) return this.byteString(value);
    if (Array.isArray(value)) {
      const items = value as readonly CborValue[];
      this.array(items.length);
      for (let i = 0; i < items.length; i++) this.value(items[i], depth + 1);
      return this;
    }
    const record = value as { readonly [key: string]: CborValue };
    const keys = Object.keys(record);
    this.map(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      this.text(key);
      this.value(record[key], depth + 1);
    }
    return this;
  }
}

/** Encodes one value into a fresh Uint8Array (convenience for tests and non-hot paths). */
export function encodeCbor(value: CborValue, capacityBytes = 4096): Uint8Array {
  return new CborEncoder(capacityBytes).value(value).bytes().slice();
}

/** IEEE 754 half-precision bits of `value` when it converts exactly, otherwise -1. */
function halfBitsIfExact(value: number, scratch: DataView): number {
  if (Number.isNaN(value)) return 0x7e00; // RFC 8949 preferred NaN
  if (value === Infinity) return 0x7c00;
  if (value === -Infinity) return 0xfc00;
  if (value === 0) return Object.is(value, -0) ? 0x8000 : 0;
  if (Math.fround(value) !== value) return -1;
  scratch.setFloat32(0, value);
  const bits = scratch.getUint32(0);
  const sign = (bits >>> 16) & 0x8000;
  const exponent32 = (bits >>> 23) & 0xff;
  const mantissa32 = bits & 0x7fffff;
  const exponent16 = exponent32 - 127 + 15;
  if (exponent16 >= 31) return -1;
  if (exponent16 >= 1) {
    if ((mantissa32 & 0x1fff) !== 0) return -1;
    return sign | (exponent16 << 10) | (mantissa32 >>> 13);
  }
  // Half subnormal: value = m * 2^-24, m in 1..1023.
  const shift = 14 - exponent16; // 13 mantissa bits dropped + (1 - exponent16)
  if (shift > 24) return -1;
  const full = mantissa32 | 0x800000;
  if ((full & ((1 << shift) - 1)) !== 0) return -1;
  return sign | (full >>> shift);
}

export function utf8Length(value: string): number {
  let length = 0;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x80) length += 1;
    else if (code < 0x800) length += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < value.length && isLowSurrogate(value.charCodeAt(i + 1))) {
      length += 4;
      i++;
    } else length += 3; // BMP, or a lone surrogate written as U+FFFD
  }
  return length;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** writes `value` as UTF-8 (lone surrogates as U+FFFD) at `at`; the caller sized `out` with utf8Length */
export function writeUtf8(value: string, out: Uint8Array, at: number): void {
  let p = at;
  for (let i = 0; i < value.length; i++) {
    let code = value.charCodeAt(i);
    if (code < 0x80) {
      out[p++] = code;
    } else if (code < 0x800) {
      out[p++] = 0xc0 | (code >> 6);
      out[p++] = 0x80 | (code & 0x3f);
    } else if (code >= 0xd800 && code <= 0xdbff && i + 1 < value.length && isLowSurrogate(value.charCodeAt(i + 1))) {
      code = 0x10000 + ((code - 0xd800) << 10) + (value.charCodeAt(++i) - 0xdc00);
      out[p++] = 0xf0 | (code >> 18);
      out[p++] = 0x80 | ((code >> 12) & 0x3f);
      out[p++] = 0x80 | ((code >> 6) & 0x3f);
      out[p++] = 0x80 | (code & 0x3f);
    } else {
      if (code >= 0xd800 && code <= 0xdfff) code = 0xfffd; // lone surrogate
      out[p++] = 0xe0 | (code >> 12);
      out[p++] = 0x80 | ((code >> 6) & 0x3f);
      out[p++] = 0x80 | (code & 0x3f);
    }
  }
}
