// Batch record -> InfluxDB line protocol, written straight into one growing Buffer with the byte
// offset of every line: no per-field strings, so a 5,000-record batch costs the garbage collector
// almost nothing, and a range of lines is a zero-copy subarray (what sendBisecting sends).
// Formatting and escaping only: which fields a record has is decided by ./point-schema.ts.
import type { BatchRecord } from "../../protocol/batch.js";
import { CENTI } from "../../protocol/limits.js";
import { emitFields, measurementOf, type FieldSink, type StoredRecord } from "./point-schema.js";

// Escaping rules of the line protocol: measurement , and space; tag keys/values and field keys
// , = and space; string field values " and \. Newlines cannot travel in line protocol at all.
// Keys and tag values repeat from point to point: their escaped forms are cached (bounded).
const KEY_SPECIAL = /[,= ]/;
const escapedKeys = new Map<string, string>();
const ESCAPED_KEYS_MAX = 10_000;
function escapeKey(text: string): string {
  let escaped = escapedKeys.get(text);
  if (escaped === undefined) {
    escaped = KEY_SPECIAL.test(text) ? text.replace(/[,= ]/g, (c) => `\\${c}`) : text;
    if (escapedKeys.size >= ESCAPED_KEYS_MAX) escapedKeys.clear();
    escapedKeys.set(text, escaped);
  }
  return escaped;
}
const STRING_SPECIAL = /[\\"\r\n]/;
const escapeString = (text: string): string =>
  STRING_SPECIAL.test(text) ? text.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\r?\n|\r/g, " ") : text;

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

  #reserve(bytes: number): void {
    if (this.#position + bytes <= this.#buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.#buffer.length * 2, this.#position + bytes));
    this.#buffer.copy(grown, 0, 0, this.#position);
    this.#buffer = grown;
  }

  ascii(text: string): void {
    // ids, keys and measurement names: short, mostly ASCII; utf8 handles the rest
    this.#reserve(text.length * 3);
    this.#position += this.#buffer.write(text, this.#position, "utf8");
  }

  byte(value: number): void {
    this.#reserve(1);
    this.#buffer[this.#position++] = value;
  }

  /** a non-negative or negative integer, decimal */
  integer(value: number): void {
    let n = Math.trunc(value);
    this.#reserve(24);
    if (n < 0) {
      this.#buffer[this.#position++] = MINUS;
      n = -n;
    }
    let count = 0;
    do {
      const next = Math.floor(n / 10);
      this.#digits[count++] = ZERO + (n - next * 10);
      n = next;
    } while (n > 0);
    while (count > 0) this.#buffer[this.#position++] = this.#digits[--count] as number;
  }

  startFields(): void {
    this.#first = true;
  }

  #key(key: string): void {
    if (!this.#first) this.byte(COMMA);
    this.#first = false;
    this.ascii(escapeKey(key));
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
    this.ascii(escapeString(value));
    this.byte(QUOTE);
  }

  bool(key: string, value: boolean): void {
    this.#key(key);
    this.ascii(value ? "true" : "false");
  }

  take(): Buffer {
    return this.#buffer.subarray(0, this.#position);
  }
}

function writeRecord(out: LineBuffer, record: BatchRecord, site: string, gateway: string): void {
  // tags sorted by key (device, gateway, site): InfluxDB then skips a sort per point
  out.ascii(measurementOf[record.k]);
  out.ascii(",device=");
  out.ascii(escapeKey(record.d));
  out.ascii(",gateway=");
  out.ascii(escapeKey(gateway));
  out.ascii(",site=");
  out.ascii(escapeKey(site));
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
