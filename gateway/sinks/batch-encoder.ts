// Encodes a protocol/batch.ts Batch as standard CBOR without decoding the payloads again: each
// record's payload is the device's CBOR exactly as validated and stored, spliced in as-is.
// The result decodes with protocol/schema/validate.ts cborDecoder like cborEncoder.encode(batch)
// (checked in test/gateway/batch-encoder.test.ts); it saves a decode and an encode per record.
import type { StoredRecord } from "../buffer/record-buffer.js";
import { PAYLOAD_VERSION } from "../../protocol/limits.js";

class CborWriter {
  #buffer: Buffer;
  #length = 0;

  constructor(initialBytes: number) {
    this.#buffer = Buffer.allocUnsafe(initialBytes);
  }

  #ensure(bytes: number): void {
    if (this.#length + bytes <= this.#buffer.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buffer.length * 2, this.#length + bytes));
    this.#buffer.copy(next, 0, 0, this.#length);
    this.#buffer = next;
  }

  head(major: number, value: number): void {
    this.#ensure(9);
    const b = this.#buffer;
    const m = major << 5;
    if (value < 24) b[this.#length++] = m | value;
    else if (value < 0x100) {
      b[this.#length++] = m | 24;
      b[this.#length++] = value;
    } else if (value < 0x10000) {
      b[this.#length++] = m | 25;
      b.writeUInt16BE(value, this.#length);
      this.#length += 2;
    } else if (value < 0x100000000) {
      b[this.#length++] = m | 26;
      b.writeUInt32BE(value, this.#length);
      this.#length += 4;
    } else {
      b[this.#length++] = m | 27;
      b.writeUInt32BE(Math.floor(value / 0x100000000), this.#length);
      b.writeUInt32BE(value >>> 0, this.#length + 4);
      this.#length += 8;
    }
  }

  uint(value: number): void {
    this.head(0, value);
  }

  text(value: string): void {
    const bytes = Buffer.byteLength(value);
    this.head(3, bytes);
    this.#ensure(bytes);
    this.#buffer.write(value, this.#length, "utf8");
    this.#length += bytes;
  }

  /** A text string that recurs (kinds, device ids): its encoded item comes from a small cache. */
  recurringText(value: string): void {
    let item = recurringTexts.get(value);
    if (item === undefined) {
      item = textItem(value);
      if (recurringTexts.size >= RECURRING_TEXTS_MAX) recurringTexts.clear();
      recurringTexts.set(value, item);
    }
    this.raw(item);
  }

  raw(bytes: Uint8Array): void {
    this.#ensure(bytes.length);
    this.#buffer.set(bytes, this.#length);
    this.#length += bytes.length;
  }

  result(): Buffer {
    return this.#buffer.subarray(0, this.#length);
  }
}

/** One CBOR text string item (head and UTF-8), encoded once. */
function textItem(value: string): Buffer {
  const writer = new CborWriter(9 + Buffer.byteLength(value));
  writer.text(value);
  return writer.result();
}

// Encoded CBOR text items of kinds and device ids, which repeat in every batch, and of the record
// keys: writing each (length, then UTF-8) cost more than copying it. The cache is bounded:
// beyond, it starts over.
const RECURRING_TEXTS_MAX = 8192;
const recurringTexts = new Map<string, Buffer>();
const KEY_ID = textItem("id");
const KEY_TS = textItem("ts");
const KEY_KIND = textItem("k");
const KEY_DEVICE = textItem("d");
const KEY_PAYLOAD = textItem("p");

export interface BatchHeader {
  gateway: string;
  site: string;
  id: string;
}

export function encodeBatch(header: BatchHeader, records: StoredRecord[]): Buffer {
  let payloadBytes = 0;
  for (const record of records) payloadBytes += record.body.length;
  const writer = new CborWriter(256 + payloadBytes + records.length * 48);
  writer.head(5, 5);
  writer.text("v");
  writer.uint(PAYLOAD_VERSION);
  writer.text("gw");
  writer.text(header.gateway);
  writer.text("site");
  writer.text(header.site);
  writer.text("id");
  writer.text(header.id);
  writer.text("recs");
  writer.head(4, records.length);
  for (const record of records) {
    writer.head(5, 5);
    writer.raw(KEY_ID);
    writer.uint(record.id);
    writer.raw(KEY_TS);
    writer.uint(record.ts);
    writer.raw(KEY_KIND);
    writer.recurringText(record.kind);
    writer.raw(KEY_DEVICE);
    writer.recurringText(record.device);
    writer.raw(KEY_PAYLOAD);
    writer.raw(record.body);
  }
  return writer.result();
}
