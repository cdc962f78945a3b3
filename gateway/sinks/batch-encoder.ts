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

  raw(bytes: Uint8Array): void {
    this.#ensure(bytes.length);
    this.#buffer.set(bytes, this.#length);
    this.#length += bytes.length;
  }

  result(): Buffer {
    return this.#buffer.subarray(0, this.#length);
  }
}

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
    writer.text("id");
    writer.uint(record.id);
    writer.text("ts");
    writer.uint(record.ts);
    writer.text("k");
    writer.text(record.kind);
    writer.text("d");
    writer.text(record.device);
    writer.text("p");
    writer.raw(record.body);
  }
  return writer.result();
}
