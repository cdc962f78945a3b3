// Batch record -> InfluxDB line protocol, written straight into one growing Buffer with the byte
// offset of every line: no per-field strings, so a 5,000-record batch costs the garbage collector
// almost nothing, and a range of lines is a zero-copy subarray (what sendBisecting sends).
// Formatting and escaping only: which fields a record has is decided by ./point-schema.ts.
import type { BatchRecord } from "../../protocol/batch.js";
import { CENTI } from "../../protocol/limits.js";
import { emitFields, measurementOf, pointMeasurement, pointTimeUs, readingTags, type FieldSink, type StoredRecord } from "./point-schema.js";

// Escaping rules of the line protocol: measurement , and space; tag keys/values and field keys
// , = and space; string field values " and \. Newlines cannot travel in line protocol at all.
// Keys, measurement names and tag values repeat from point to point: their escaped UTF-8 bytes
// are cached (bounded) and copied in a JS loop, cheaper than a Buffer.write call per key.
const KEY_SPECIAL = /[,= ]/;
const keyBytes = new Map<string, Uint8Array>();
const KEY_BYTES_MAX = 10_000;
function escapedKeyBytes(text: string): Uint8Array {
  let bytes = keyBytes.get(text);
  if (bytes === undefined) {
    bytes = Buffer.from(KEY_SPECIAL.test(text) ? text.replace(/[,= ]/g, (c) => `\\${c}`) : text, "utf8");
    if (keyBytes.size >= KEY_BYTES_MAX) keyBytes.clear();
    keyBytes.set(text, bytes);
  }
  return bytes;
}
/** `key=` escaped, for field keys: one cached copy per field instead of key + "=" */
const fieldKeyBytes = new Map<string, Uint8Array>();
function escapedFieldKeyBytes(key: string): Uint8Array {
  let bytes = fieldKeyBytes.get(key);
  if (bytes === undefined) {
    const escaped = escapedKeyBytes(key);
    bytes = new Uint8Array(escaped.length + 1);
    bytes.set(escaped);
    bytes[escaped.length] = EQUALS;
    if (fieldKeyBytes.size >= KEY_BYTES_MAX) fieldKeyBytes.clear();
    fieldKeyBytes.set(key, bytes);
  }
  return bytes;
}

// The head of a line, "measurement,device=…,gateway=…,site=… ", repeats for every record of a
// device: cached per (gateway, site) -> measurement -> device, bounded like the key cache.
type HeadCache = Map<string, Map<string, Uint8Array>>;
const headCaches = new Map<string, Map<string, HeadCache>>();
let headCount = 0;
function headCacheFor(gateway: string, site: string): HeadCache {
  let bySite = headCaches.get(gateway);
  if (bySite === undefined) {
    bySite = new Map();
    headCaches.set(gateway, bySite);
  }
  let cache = bySite.get(site);
  if (cache === undefined) {
    cache = new Map();
    bySite.set(site, cache);
  }
  return cache;
}
function lineHead(cache: HeadCache, measurement: string, device: string, gateway: string, site: string): Uint8Array {
  let byDevice = cache.get(measurement);
  if (byDevice === undefined) {
    byDevice = new Map();
    cache.set(measurement, byDevice);
  }
  let bytes = byDevice.get(device);
  if (bytes === undefined) {
    // tags sorted by key (device, gateway, site): InfluxDB then skips a sort per point
    const parts = [escapedKeyBytes(measurement), TAG_DEVICE, escapedKeyBytes(device), TAG_GATEWAY, escapedKeyBytes(gateway), TAG_SITE, escapedKeyBytes(site), HEAD_END];
    bytes = Buffer.concat(parts);
    // over the bound: start afresh (the caller's cache, now detached, ends with its batch)
    if (++headCount > KEY_BYTES_MAX) {
      headCaches.clear();
      headCount = 0;
    }
    byDevice.set(device, bytes);
  }
  return bytes;
}
const TAG_DEVICE = Buffer.from(",device=");
const TAG_GATEWAY = Buffer.from(",gateway=");
const TAG_SITE = Buffer.from(",site=");
const HEAD_END = Buffer.from(" ");

const STRING_SPECIAL = /[\\"\r\n]/;
const escapeString = (text: string): string =>
  STRING_SPECIAL.test(text) ? text.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\r?\n|\r/g, " ") : text;

// a module-local copy: under tsx (bench, tests) an imported binding is read through a getter,
// which cost ~3 % of formatting when read twice per field
const CENTI_PER_UNIT: number = CENTI;
const RECORD_BYTES = 4096;
const COMMA = 0x2c;
const EQUALS = 0x3d;
const SPACE = 0x20;
const NEWLINE = 0x0a;
const DOT = 0x2e;
const MINUS = 0x2d;
const QUOTE = 0x22;
const ZERO = 0x30;
const LETTER_I = 0x69;

/** Formatted lines: bytes [offsets[i], offsets[i + 1]) are line i, newline included. */
export interface FormattedLines {
  bytes: Buffer;
  offsets: number[];
}

class LineBuffer implements FieldSink {
  #buffer: Buffer;
  #position = 0;
  #first = true;

  constructor(initialBytes: number) {
    this.#buffer = Buffer.allocUnsafe(Math.max(1024, initialBytes));
  }

  get position(): number {
    return this.#position;
  }

  /** Room for one record: every fixed-size write of a record fits in RECORD_BYTES (the longest,
   *  a status line, is under 1.5 KB; free text reserves for itself), so the per-field writes
   *  below do not check bounds one by one. */
  reserveRecord(): void {
    this.#reserve(RECORD_BYTES);
  }

  #reserve(bytes: number): void {
    if (this.#position + bytes <= this.#buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.#buffer.length * 2, this.#position + bytes));
    this.#buffer.copy(grown, 0, 0, this.#position);
    this.#buffer = grown;
  }

  /** any text (string field values), UTF-8 */
  text(text: string): void {
    this.#reserve(text.length * 3 + RECORD_BYTES);
    this.#position += this.#buffer.write(text, this.#position, "utf8");
  }

  /** a key, measurement name or tag value, escaped (cached bytes) */
  key(text: string): void {
    this.bytes(escapedKeyBytes(text));
  }

  /** cached bytes, copied in a JS loop (cheaper than a native call for a few bytes) */
  bytes(bytes: Uint8Array): void {
    if (bytes.length > 64) this.#reserve(bytes.length);
    const buffer = this.#buffer;
    let position = this.#position;
    for (let index = 0; index < bytes.length; index += 1) buffer[position++] = bytes[index] as number;
    this.#position = position;
  }

  byte(value: number): void {
    this.#buffer[this.#position++] = value;
  }

  /** a non-negative or negative integer, decimal, written in place (no digit scratch, no string) */
  integer(value: number): void {
    let n = Math.trunc(value);
    if (n < 0) {
      this.#buffer[this.#position++] = MINUS;
      n = -n;
    }
    if (n < 2147483648) {
      this.#small(n | 0, 0);
    } else if (n <= Number.MAX_SAFE_INTEGER) {
      // timestamps and boot ids: two int32 halves, the low one zero-padded to 8 digits
      const high = Math.floor(n / 100_000_000);
      this.#small(high, 0);
      this.#small(n - high * 100_000_000, 8);
    } else {
      // beyond 2^53 (validated records never are): exact digits, never "1e+21" notation
      this.#position += this.#buffer.write(Number.isFinite(n) ? BigInt(n).toString() : "0", this.#position, "latin1");
    }
  }

  /** an int32 >= 0 in decimal, at least `minDigits` digits (zero-padded) */
  #small(n: number, minDigits: number): void {
    let digits = n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : n < 10000 ? 4 : n < 100000 ? 5 : n < 1000000 ? 6 : n < 10000000 ? 7 : n < 100000000 ? 8 : n < 1000000000 ? 9 : 10;
    if (digits < minDigits) digits = minDigits;
    const buffer = this.#buffer;
    const end = this.#position + digits;
    let position = end;
    let rest = n;
    while (position > this.#position) {
      const next = (rest / 10) | 0;
      buffer[--position] = ZERO + (rest - next * 10);
      rest = next;
    }
    this.#position = end;
  }

  startFields(): void {
    this.#first = true;
  }

  #key(key: string): void {
    if (!this.#first) this.#buffer[this.#position++] = COMMA;
    this.#first = false;
    this.bytes(escapedFieldKeyBytes(key));
  }

  int(key: string, value: number): void {
    this.#key(key);
    this.integer(value);
    this.#buffer[this.#position++] = LETTER_I;
  }

  centi(key: string, value: number): void {
    this.#key(key);
    // 231 -> 2.31, -5 -> -0.05: integer arithmetic, no float formatting
    let magnitude = Math.trunc(value);
    if (value < 0) {
      this.#buffer[this.#position++] = MINUS;
      magnitude = -magnitude;
    }
    const whole = Math.floor(magnitude / CENTI_PER_UNIT);
    const fraction = magnitude - whole * CENTI_PER_UNIT;
    this.integer(whole);
    const tens = (fraction / 10) | 0;
    const buffer = this.#buffer;
    buffer[this.#position++] = DOT;
    buffer[this.#position++] = ZERO + tens;
    buffer[this.#position++] = ZERO + (fraction - tens * 10);
  }

  float(key: string, value: number): void {
    this.#key(key);
    // shortest round-trip decimal (validated readings are finite); "1e+21" parses as a float too
    this.text(String(value));
  }

  str(key: string, value: string): void {
    this.#key(key);
    this.byte(QUOTE);
    this.text(escapeString(value));
    this.byte(QUOTE);
  }

  bool(key: string, value: boolean): void {
    this.#key(key);
    this.key(value ? "true" : "false");
  }

  take(): Buffer {
    return this.#buffer.subarray(0, this.#position);
  }
}

function writeRecord(out: LineBuffer, head: Uint8Array, record: BatchRecord): void {
  out.reserveRecord();
  out.bytes(head);
  out.startFields();
  emitFields(record, out);
  out.byte(SPACE);
  out.integer(pointTimeUs(record));
  out.byte(NEWLINE);
}

/** "measurement,gateway=…,site=…,source=…,<own tags> " of a southbound reading, tags sorted by key. */
function readingHead(record: BatchRecord, gateway: string, site: string): Uint8Array {
  const tags = [...readingTags(record), ["gateway", gateway], ["site", site]].sort(([a], [b]) => ((a as string) < (b as string) ? -1 : 1));
  const parts: Uint8Array[] = [escapedKeyBytes(pointMeasurement(record))];
  for (const [key, value] of tags) parts.push(COMMA_BYTES, escapedKeyBytes(key as string), EQUALS_BYTES, escapedKeyBytes(value as string));
  parts.push(HEAD_END);
  return Buffer.concat(parts);
}
const COMMA_BYTES = Buffer.from(",");
const EQUALS_BYTES = Buffer.from("=");

/** Formats every record as one line (µs timestamps) into one Buffer. */
export function formatLines(records: readonly StoredRecord[]): FormattedLines {
  // ~400 bytes per telemetry line: start there, grow by doubling
  const out = new LineBuffer(records.length * 420);
  const offsets = new Array<number>(records.length + 1);
  let site: string | undefined;
  let gateway: string | undefined;
  let heads: HeadCache | undefined;
  for (let index = 0; index < records.length; index += 1) {
    offsets[index] = out.position;
    const stored = records[index] as StoredRecord;
    // a batch has one site and gateway: look their cache up once
    if (heads === undefined || stored.site !== site || stored.gateway !== gateway) {
      site = stored.site;
      gateway = stored.gateway;
      heads = headCacheFor(gateway, site);
    }
    const record = stored.record;
    const head = record.k === "read" ? readingHead(record, gateway as string, site) : lineHead(heads, measurementOf[record.k], record.d, gateway as string, site);
    writeRecord(out, head, record);
  }
  offsets[records.length] = out.position;
  return { bytes: out.take(), offsets };
}

/** One record as one line, without the newline (tests, debugging). */
export function recordToLine(record: BatchRecord, site: string, gateway: string): string {
  const { bytes } = formatLines([{ record, site, gateway }]);
  return bytes.toString("utf8", 0, bytes.length - 1);
}
