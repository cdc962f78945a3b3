// The hot tail's bound (issue 14 point 7, the backlog's memory): a tail that overflows drops all
// it holds and caches nothing while the sink is far behind (an outage fills the buffer), then
// caches again once the sink has caught up to within half the bound. Records still come out
// exactly once, in order, whichever way they are read.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { HotTail, type HotRecord } from "../../gateway/buffer/hot-tail.js";
import { SqliteBuffer } from "../../gateway/buffer/sqlite-buffer.js";

const dir = mkdtempSync(join(tmpdir(), "vw-hot-tail-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hot = (id: number): HotRecord => ({ id, ts: id * 10, kind: "tele", device: "d", body: Uint8Array.of(id & 0xff), bytes: 1 });
const tele = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({ kind: "tele" as const, device: "d", body: Uint8Array.of((from + i) & 0xff, 7), dedupe: { device: "d", boot: 1, seq: from + i } }));

describe("HotTail", () => {
  it("drops everything and stays off past its bound, and caches again after resume()", () => {
    const tail = new HotTail(1, 4);
    tail.addAll([1, 2, 3, 4].map(hot));
    expect(tail.off).toBe(false);
    expect(tail.at(tail.firstAfter(0))?.id).toBe(1);
    tail.addAll([hot(5)]);
    expect(tail.off).toBe(true);
    expect(tail.bytes).toBe(0);
    tail.addAll([hot(6)]); // off: nothing is cached
    expect(tail.length).toBe(0);
    tail.resume(7);
    tail.addAll([7, 8].map(hot));
    expect(tail.off).toBe(false);
    expect(tail.from).toBe(7);
    expect([tail.at(tail.firstAfter(6))?.id, tail.at(tail.firstAfter(7))?.id]).toEqual([7, 8]);
  });

  it("deleteAll removes runs of ids and leaves the others", () => {
    const tail = new HotTail(1, 100);
    tail.addAll(Array.from({ length: 10 }, (_, i) => hot(i + 1)));
    tail.deleteAll([2, 3, 4, 9, 42]);
    const left: number[] = [];
    for (let index = tail.firstAfter(0); index < tail.length; index++) {
      const record = tail.at(index);
      if (record) left.push(record.id);
    }
    expect(left).toEqual([1, 5, 6, 7, 8, 10]);
    expect(tail.bytes).toBe(6);
  });
});

describe("SqliteBuffer with a hot tail that overflows", () => {
  it("leases every record once, in order, from the file while the tail is off and from memory once it resumed", () => {
    const buffer = new SqliteBuffer({ path: join(dir, "overflow.db"), maxBytes: 1e9, maxAgeS: 1e6, hotTailMaxRecords: 20 });
    // an outage: 100 records, nothing leased; the tail overflows at 21
    for (let at = 0; at < 100; at += 10) buffer.append(tele(at, 10));
    const leased: number[] = [];
    let fromFile = 0;
    const drain = (max: number) => {
      const batch = buffer.lease(max, 1e9);
      for (const record of batch) {
        leased.push(record.id);
        // the file hands out Buffers (better-sqlite3); the tail hands out views into its slab
        if (Buffer.isBuffer(record.body)) fromFile++;
      }
      buffer.complete(batch.map((record) => record.id));
      return batch.length;
    };
    drain(95); // the sink catches up to within 5 records
    expect(fromFile).toBe(95);
    buffer.append(tele(100, 10)); // the tail resumes with these
    fromFile = 0;
    drain(5);
    expect(fromFile).toBe(5); // the 5 older ones come from the file...
    while (drain(3) > 0);
    expect(fromFile).toBe(5); // ...the 10 new ones from memory
    expect(leased).toEqual(Array.from({ length: 110 }, (_, i) => i + 1));
    expect(buffer.stats().records).toBe(0);
    buffer.close();
  });
});
