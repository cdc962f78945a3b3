// The SQLite buffer: the RecordBuffer contract, plus what only a file can show: a restart reopens
// the buffer and resumes (same ids and timestamps, no id reused, dedupe remembered), exact drop
// counters by reason, and a bounded quarantine.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SqliteBuffer } from "../../gateway/buffer/sqlite-buffer.js";
import { bufferContract } from "./buffer-contract.js";

const dir = mkdtempSync(join(tmpdir(), "vw-sqlite-buffer-"));
let files = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

bufferContract("SqliteBuffer", {
  create: (bounds, nowUs) => new SqliteBuffer({ path: join(dir, `contract-${files++}.db`), ...bounds, nowUs }),
});

const body = (n: number) => new Uint8Array(n).fill(1);

describe("SqliteBuffer on disk", () => {
  it("reopens after a restart with the same records, ids and timestamps, and never reuses an id", () => {
    const path = join(dir, "restart.db");
    const first = new SqliteBuffer({ path, maxBytes: 1e9, maxAgeS: 1e6 });
    first.append([1, 2, 3].map((i) => ({ kind: "tele" as const, device: "d", body: body(5), dedupe: { device: "d", boot: 1, seq: i } })));
    const before = first.lease(10, 1e9);
    first.complete([before[2]!.id]); // the newest goes: its id must not come back
    first.close();
    const second = new SqliteBuffer({ path, maxBytes: 1e9, maxAgeS: 1e6 });
    const after = second.lease(10, 1e9);
    expect(after.map((r) => [r.id, r.ts])).toEqual(before.slice(0, 2).map((r) => [r.id, r.ts]));
    expect(second.append([{ kind: "tele", device: "d", body: body(5), dedupe: { device: "d", boot: 1, seq: 3 } }]).duplicates).toBe(1);
    second.append([{ kind: "tele", device: "d", body: body(5), dedupe: { device: "d", boot: 1, seq: 4 } }]);
    const newest = second.lease(10, 1e9);
    expect(newest[0]!.id).toBeGreaterThan(before[2]!.id);
    expect(newest[0]!.ts).toBeGreaterThan(before[2]!.ts);
    expect(second.stats()).toMatchObject({ records: 3, bytes: 15 });
    second.close();
  });

  // lease() serves records this process appended from memory (the hot tail), the rest from the file
  const mixed = (from: number, count: number) =>
    Array.from({ length: count }, (_, i) => ({
      kind: (from + i) % 7 === 0 ? ("alert" as const) : ("tele" as const),
      device: `d${(from + i) % 3}`,
      body: Uint8Array.from([from + i, 0xa0, (from + i) % 251]),
      dedupe: { device: `d${(from + i) % 3}`, boot: 1, seq: from + i },
    }));
  const plain = (records: { id: number; ts: number; kind: string; device: string; body: Uint8Array }[]) =>
    records.map((r) => ({ id: r.id, ts: r.ts, kind: r.kind, device: r.device, body: Array.from(r.body) }));

  it("leases from memory exactly what the file holds", () => {
    const path = join(dir, "hot-same.db");
    const buffer = new SqliteBuffer({ path, maxBytes: 1e9, maxAgeS: 1e6 });
    buffer.append(mixed(0, 40));
    buffer.append(mixed(40, 25));
    const fromMemory = buffer.lease(1000, 1e9);
    const fromFile = new SqliteBuffer({ path, maxBytes: 1e9, maxAgeS: 1e6 });
    expect(plain(fromMemory)).toEqual(plain(fromFile.lease(1000, 1e9)));
    expect(fromMemory).toHaveLength(65);
    fromFile.close();
    buffer.close();
  });

  it("beyond its memory bound leases the oldest from the file: every record once, none lost", () => {
    const buffer = new SqliteBuffer({ path: join(dir, "hot-bound.db"), maxBytes: 1e9, maxAgeS: 1e6, hotTailMaxRecords: 10 });
    const leasedIds: number[] = [];
    let appended = 0;
    for (let round = 0; round < 12; round++) {
      buffer.append(mixed(appended, 9));
      appended += 9;
      const batch = buffer.lease(round % 3 === 0 ? 4 : 15, 1e9);
      // every third batch fails and comes back; the others are stored
      if (round % 4 === 3) buffer.release(batch.map((r) => r.id));
      else {
        leasedIds.push(...batch.map((r) => r.id));
        buffer.complete(batch.map((r) => r.id));
      }
    }
    for (let batch = buffer.lease(7, 1e9); batch.length > 0; batch = buffer.lease(7, 1e9)) {
      leasedIds.push(...batch.map((r) => r.id));
      buffer.complete(batch.map((r) => r.id));
    }
    expect([...leasedIds].sort((a, b) => a - b)).toEqual(Array.from({ length: appended }, (_, i) => i + 1));
    expect(buffer.stats().records).toBe(0);
    buffer.close();
  });

  it("after a rolled-back append leases only what was committed", () => {
    const path = join(dir, "hot-rollback.db");
    const buffer = new SqliteBuffer({ path, maxBytes: 1e9, maxAgeS: 1e6 });
    buffer.append(mixed(0, 5));
    // a real SQLite error in the middle of the transaction (a trigger), not a stand-in
    buffer.db.exec("CREATE TRIGGER refuse BEFORE INSERT ON records WHEN NEW.device = 'boom' BEGIN SELECT RAISE(ABORT, 'injected'); END");
    expect(() => buffer.append([...mixed(5, 3), { kind: "tele", device: "boom", body: body(3) }])).toThrow(/injected/);
    buffer.append(mixed(8, 2));
    const leased = buffer.lease(1000, 1e9);
    expect(leased.map((r) => r.body[0])).toEqual([0, 1, 2, 3, 4, 8, 9]);
    const fromFile = new SqliteBuffer({ path, maxBytes: 1e9, maxAgeS: 1e6 });
    expect(plain(leased)).toEqual(plain(fromFile.lease(1000, 1e9)));
    fromFile.close();
    buffer.close();
  });

  it("commits deletions without fsync but every append with it (synchronous=FULL)", () => {
    const path = join(dir, "lazy-delete.db");
    const buffer = new SqliteBuffer({ path, maxBytes: 1e9, maxAgeS: 1e6 });
    const FULL = 2;
    expect(buffer.db.pragma("synchronous", { simple: true })).toBe(FULL);
    buffer.append(mixed(0, 6));
    buffer.complete(buffer.lease(3, 1e9).map((r) => r.id));
    // the mode is back to FULL for the next append, which is what a PUBACK waits for
    expect(buffer.db.pragma("synchronous", { simple: true })).toBe(FULL);
    buffer.append(mixed(6, 2));
    buffer.close();
    const reopened = new SqliteBuffer({ path, maxBytes: 1e9, maxAgeS: 1e6 });
    expect(reopened.lease(100, 1e9).map((r) => r.body[0])).toEqual([7, 3, 4, 5, 6]); // 0, 1 and 2 went (0 and 7 are alerts: first)
    reopened.close();
  });

  it("counts every dropped record by reason, exactly", () => {
    const drops: Record<string, number> = {};
    const buffer = new SqliteBuffer({
      path: join(dir, "drops.db"),
      maxBytes: 1000,
      maxAgeS: 1e6,
      hooks: { dropped: (reason, kind, count) => (drops[`${reason}/${kind}`] = (drops[`${reason}/${kind}`] ?? 0) + count) },
    });
    // 300 telemetry records of 10 bytes and 20 alerts of 10 bytes into 1000 bytes:
    // 20 alerts (200 bytes) stay, so 80 telemetry fit and 220 are dropped
    for (let i = 0; i < 300; i++) {
      const records = [{ kind: "tele" as const, device: "d", body: body(10), dedupe: { device: "d", boot: 1, seq: i } }];
      if (i % 15 === 0) records.push({ kind: "alert" as const, device: "d", body: body(10), dedupe: { device: "d", boot: 1 + 1000, seq: i } } as never);
      buffer.append(records);
    }
    expect(drops).toEqual({ "buffer_full/tele": 220 });
    const rest = buffer.lease(1000, 1e9);
    expect(rest.filter((r) => r.kind === "alert")).toHaveLength(20);
    expect(rest.filter((r) => r.kind === "tele")).toHaveLength(80);
    buffer.close();
  });

  it("bounds the quarantine: the oldest entries are evicted and counted, per-device counters stay exact", () => {
    let evicted = 0;
    const buffer = new SqliteBuffer({ path: join(dir, "quarantine.db"), maxBytes: 1e9, maxAgeS: 1e6, quarantineMaxRecords: 50, hooks: { dropped: (_r, _k, n) => (evicted += n) } });
    for (let i = 0; i < 12; i++) {
      buffer.append([], Array.from({ length: 10 }, (_, j) => ({ topic: "t", device: j % 2 ? "a" : "b", code: "VW_SCHEMA", reason: "x", payload: body(3) })));
    }
    expect(buffer.stats().quarantined).toBe(50);
    expect(evicted).toBe(70);
    expect(buffer.quarantine.counts()).toEqual([
      { device: "a", code: "VW_SCHEMA", count: 60 },
      { device: "b", code: "VW_SCHEMA", count: 60 },
    ]);
    buffer.close();
  });
});
