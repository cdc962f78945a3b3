// The hot tail: telemetry and status records appended by this process stay in memory, in id
// order, until they are deleted, so lease() hands them out without SELECTing back what was just
// written (that read cost 2-3 µs per record, as much as the rest of forwarding). Bounded; beyond
// a bound the whole tail leaves the cache (not the buffer: its records are leased from the table)
// until the sink has caught up to within half the bound (SqliteBuffer resumes it). Alerts
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

  /** Off: the tail overflowed (the sink is far behind, e.g. the cloud is away) and holds nothing;
   *  every lease reads the table until resume(). */
  get off(): boolean {
    return this.from === Number.POSITIVE_INFINITY;
  }

  add(record: HotRecord): void {
    if (this.off) return;
    this.#ids.push(record.id);
    this.#records.push(record);
    this.#count++;
    this.bytes += record.bytes;
    // Beyond a bound the whole tail is dropped, not its oldest records one by one: a tail that
    // overflows belongs to a sink far behind, which reads the table for a long while anyway, and
    // a tail kept full of the newest records during an outage cost memory (each record outlives
    // the young generation, then dies in the old one: filling 1,000,000 records took V8's heap to
    // 70-140 MB, against ~50 MB without) for no read it saved.
    if (this.#count > this.maxRecords || this.bytes > HOT_MAX_BYTES) this.reset(Number.POSITIVE_INFINITY);
  }

  /** Starts caching again from `nextId` (the sink caught up to within half the tail). */
  resume(nextId: number): void {
    if (this.off) this.reset(nextId);
  }

  /** Copies the bodies into one new buffer (an MQTT payload can be a view into a larger socket
   *  buffer; one allocation per commit, not one per record) and adds the records. */
  addAll(records: HotRecord[]): void {
    if (this.off) return;
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

  /** Deletes each id of `ids` that is here. A batch's ids are mostly consecutive and ascending,
   *  so each is looked for next to the previous one before a binary search. */
  deleteAll(ids: number[]): void {
    let next = -1;
    for (const id of ids) {
      let index = next >= this.#head && next < this.#ids.length && this.#ids[next] === id ? next : this.#indexOf(id);
      if (index < this.#ids.length && this.#ids[index] === id) {
        if (this.#records[index] !== undefined) {
          const before = this.#ids.length;
          this.#remove(index);
          // #remove may drop the emptied front (the arrays shift by what it dropped)
          index -= before - this.#ids.length;
        }
        next = index + 1;
      } else next = -1;
    }
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
