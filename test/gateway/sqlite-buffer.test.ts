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
