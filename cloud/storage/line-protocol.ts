// Batch record -> InfluxDB line protocol, written straight into one growing Buffer with the byte
// offset of every line: no per-field strings, so a 5,000-record batch costs the garbage collector
// almost nothing, and a range of lines is a zero-copy subarray (what sendBisecting sends).
// Formatting and escaping only: which fields a record has is decided by ./point-schema.ts.
import type { BatchRecord } from "../../protocol/batch.js";
import { CENTI } from "../../protocol/limits.js";
import { emitFields, measurementOf, type FieldSink, type StoredRecord } from "./point-schema.js";

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
const STRING_SPECIAL = /[\\"\r\n]/;
const escapeString = (text: string): string =>
  STRING_SPECIAL.test(text) ? text.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\r?\n|\r/g, " ") : text;

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
  readonly #digits = new Uint8Array(24);

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
    const bytes = escapedKeyBytes(text);
    if (bytes.length > 64) this.#reserve(bytes.length);
    const buffer = this.#buffer;
    let position = this.#position;
    for (let index = 0; index < bytes.length; index += 1) buffer[position++] = bytes[index] as number;
    this.#position = position;
  }

  byte(value: number): void {
    this.#buffer[this.#position++] = value;
  }

  /** a non-negative or negative integer, decimal */
  integer(value: number): void {
    let n = Math.trunc(value);
    if (n < 0) {
      this.#buffer[this.#position++] = MINUS;
      n = -n;
    }
    let count = 0;
    // above 2^31 (timestamps, boot ids) float division; below, the cheaper int32 path
    while (n >= 2147483648) {
      const next = Math.floor(n / 10);
      this.#digits[count++] = ZERO + (n - next * 10);
      n = next;
    }
    let small = n | 0;
    do {
      const next = (small / 10) | 0;
      this.#digits[count++] = ZERO + (small - next * 10);
      small = next;
    } while (small > 0);
    while (count > 0) this.#buffer[this.#position++] = this.#digits[--count] as number;
  }

  startFields(): void {
    this.#first = true;
  }

  #key(key: string): void {
    if (!this.#first) this.byte(COMMA);
    this.#first = false;
    this.key(key);
    this.byte(EQUALS);
  }

  int(key: string, value: number): void {
    this.#key(key);
    this.integer(value);
    this.byte(LETTER_I);
  }

  centi(key: string, value: number): void {
    this.#key(key);
    // 231 -> 2.31, -5 -> -0.05: integer arithmetic, no float formatting
    const magnitude = Math.abs(Math.trunc(value));
    const fraction = magnitude % CENTI;
    if (value < 0) this.byte(MINUS);
    this.integer((magnitude - fraction) / CENTI);
    this.byte(DOT);
    this.byte(ZERO + Math.floor(fraction / 10));
    this.byte(ZERO + (fraction % 10));
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

function writeRecord(out: LineBuffer, record: BatchRecord, site: string, gateway: string): void {
  out.reserveRecord();
  // tags sorted by key (device, gateway, site): InfluxDB then skips a sort per point
  out.key(measurementOf[record.k]);
  out.byte(COMMA);
  out.key("device");
  out.byte(EQUALS);
  out.key(record.d);
  out.byte(COMMA);
  out.key("gateway");
  out.byte(EQUALS);
  out.key(gateway);
  out.byte(COMMA);
  out.key("site");
  out.byte(EQUALS);
  out.key(site);
  out.byte(SPACE);
  out.startFields();
  emitFields(record, out);
  out.byte(SPACE);
  out.integer(record.ts);
  out.byte(NEWLINE);
}

/** Formats every record as one line (µs timestamps) into one Buffer. */
export function formatLines(records: readonly StoredRecord[]): FormattedLines {
  // ~400 bytes per telemetry line: start there, grow by doubling
  const out = new LineBuffer(records.length * 420);
  const offsets = new Array<number>(records.length + 1);
  for (let index = 0; index < records.length; index += 1) {
    offsets[index] = out.position;
    const stored = records[index] as StoredRecord;
    writeRecord(out, stored.record, stored.site, stored.gateway);
  }
  offsets[records.length] = out.position;
  return { bytes: out.take(), offsets };
}

/** One record as one line, without the newline (tests, debugging). */
export function recordToLine(record: BatchRecord, site: string, gateway: string): string {
  const { bytes } = formatLines([{ record, site, gateway }]);
  return bytes.toString("utf8", 0, bytes.length - 1);
}
