// The hot tail: telemetry and status records appended by this process stay in memory, in id
// order, until they are deleted, so lease() hands them out without SELECTing back what was just
// written (that read cost 2-3 µs per record, as much as the rest of forwarding). Bounded; beyond
// a bound the oldest leave the cache (not the buffer) and are leased from the table again. Alerts
// and events, few and leased first, are always read from the table (their partial index).
import type { StoredRecord } from "./record-buffer.js";

export const HOT_MAX_RECORDS = 50_000;
const HOT_MAX_BYTES = 8 * 1024 * 1024;

export interface HotRecord extends StoredRecord {
  bytes: number;
}

/** The hot tail: records in id order in an array (a Map was quadratic
 *  here: deleting at its head leaves holes that every later walk from the head steps over). */
export class HotTail {
  #ids: number[] = [];
  #records: (HotRecord | undefined)[] = [];
  /** index of the first slot that may hold a record */
  #head = 0;
  #count = 0;
  bytes = 0;
  /** every record of this class in the table with an id >= from is here */
  from: number;

  constructor(
    nextId: number,
    private readonly maxRecords: number,
  ) {
    this.from = nextId;
  }

  add(record: HotRecord): void {
    this.#ids.push(record.id);
    this.#records.push(record);
    this.#count++;
    this.bytes += record.bytes;
    while (this.#count > this.maxRecords || this.bytes > HOT_MAX_BYTES) {
      const oldest = this.#records[this.#head] as HotRecord;
      this.#remove(this.#head);
      this.from = oldest.id + 1;
    }
  }

  /** Copies the bodies into one new buffer (an MQTT payload can be a view into a larger socket
   *  buffer; one allocation per commit, not one per record) and adds the records. */
  addAll(records: HotRecord[]): void {
    let total = 0;
    for (const record of records) total += record.bytes;
    const slab = new Uint8Array(total);
    let at = 0;
    for (const record of records) {
      slab.set(record.body, at);
      record.body = slab.subarray(at, at + record.bytes);
      at += record.bytes;
      this.add(record);
    }
  }

  delete(id: number): void {
    const index = this.#indexOf(id);
    if (index < this.#ids.length && this.#ids[index] === id && this.#records[index] !== undefined) this.#remove(index);
  }

  /** Index of the first record with an id above `afterId`; walk on with at(index), index + 1... */
  firstAfter(afterId: number): number {
    return this.#indexOf(afterId + 1);
  }

  /** The slot at `index` (undefined: a deleted record, or past the end when index >= length). */
  at(index: number): HotRecord | undefined {
    return this.#records[index];
  }

  get length(): number {
    return this.#records.length;
  }

  /** Forgets everything: the table is the truth again from `nextId` on. */
  reset(nextId: number): void {
    this.#ids = [];
    this.#records = [];
    this.#head = 0;
    this.#count = 0;
    this.bytes = 0;
    this.from = nextId;
  }

  /** first index at or after the head whose id is >= id (binary search: ids only grow) */
  #indexOf(id: number): number {
    let low = this.#head;
    let high = this.#ids.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.#ids[middle] as number) < id) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  #remove(index: number): void {
    const record = this.#records[index] as HotRecord;
    this.#records[index] = undefined;
    this.#count--;
    this.bytes -= record.bytes;
    while (this.#head < this.#records.length && this.#records[this.#head] === undefined) this.#head++;
    // drop the emptied front now and then: amortised O(1) per record
    if (this.#head > 1024 && this.#head * 2 > this.#records.length) {
      this.#ids = this.#ids.slice(this.#head);
      this.#records = this.#records.slice(this.#head);
      this.#head = 0;
    }
  }
}
