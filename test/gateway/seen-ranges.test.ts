// Guards against a redelivered QoS 1 message stored twice, or a new one taken for a duplicate:
// the range-set dedupe must agree with a plain set for any order of sequence numbers, survive a
// reopen, and forget nothing when a commit fails.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import fc from "fast-check";
import { afterAll, expect, it } from "vitest";
import { addToRanges, SeenRanges } from "../../gateway/buffer/seen-ranges.js";

const dir = mkdtempSync(join(tmpdir(), "vw-seen-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it("agrees with a plain set for any sequence order, and keeps ranges sorted and disjoint", () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: -1, max: 200 }), { maxLength: 400 }), (seqs) => {
      const ranges: Array<[number, number]> = [];
      const set = new Set<number>();
      for (const seq of seqs) {
        expect(addToRanges(ranges, seq)).toBe(!set.has(seq));
        set.add(seq);
      }
      for (let i = 0; i < ranges.length; i++) {
        expect(ranges[i]![0]).toBeLessThanOrEqual(ranges[i]![1]);
        if (i > 0) expect(ranges[i]![0]).toBeGreaterThan(ranges[i - 1]![1] + 1);
      }
      expect(ranges.reduce((n, [lo, hi]) => n + hi - lo + 1, 0)).toBe(set.size);
    }),
    { numRuns: 300 },
  );
});

it("remembers committed keys across a reopen and forgets what a failed commit staged", () => {
  const path = join(dir, "seen.db");
  const db = new Database(path);
  const seen = new SeenRanges(db, 1000, 3600);
  const key = (seq: number) => ({ device: "d", boot: 7, seq });
  expect(seen.add(key(1), 1)).toBe(true);
  seen.persist();
  seen.commit(1);
  expect(seen.add(key(2), 2)).toBe(true);
  seen.rollback(); // the transaction failed: 2 must be accepted again when redelivered
  expect(seen.add(key(2), 2)).toBe(true);
  expect(seen.add(key(1), 2)).toBe(false);
  seen.persist();
  seen.commit(2);
  db.close();
  const reopened = new SeenRanges(new Database(path), 1000, 3600);
  expect(reopened.add(key(1), 3)).toBe(false);
  expect(reopened.add(key(2), 3)).toBe(false);
  expect(reopened.add(key(3), 3)).toBe(true);
});

it("persists every device of a commit, however many", () => {
  const path = join(dir, "many.db");
  const db = new Database(path);
  const seen = new SeenRanges(db, 1000, 3600);
  const devices = Array.from({ length: 70 }, (_, i) => `dev-${i}`);
  for (const device of devices) for (const seq of [0, 1, 2, 5]) expect(seen.add({ device, boot: 3, seq }, 1)).toBe(true);
  db.transaction(() => seen.persist())();
  seen.commit(1);
  db.close();
  const reopened = new SeenRanges(new Database(path), 1000, 3600);
  for (const device of devices) {
    for (const seq of [0, 1, 2, 5]) expect(reopened.add({ device, boot: 3, seq }, 2)).toBe(false);
    expect(reopened.add({ device, boot: 3, seq: 3 }, 2)).toBe(true);
  }
});

it("forgets (device, boot) entries beyond the count and age bounds, counting them", () => {
  const db = new Database(join(dir, "bounds.db"));
  const seen = new SeenRanges(db, 2, 10);
  for (const device of ["a", "b", "c"]) seen.add({ device, boot: 1, seq: 0 }, 1_000_000);
  seen.persist();
  seen.commit(1_000_000);
  expect(seen.size).toBe(2);
  seen.commit(1_000_000 + 11_000_000);
  expect(seen.size).toBe(0);
  expect(seen.forgotten).toBe(3);
  db.close();
});
