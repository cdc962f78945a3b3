// Guards the buffer's bookkeeping (issue 14, "What to build" 4) the way Vector's disk buffer
// model tests do: random sequences of append / lease / complete / reject / release / expire /
// restart run against SqliteBuffer and against a reference of a few dozen lines that keeps every
// record in a Map; after each step the totals, the pending counts, the quarantine and every
// leased record (id, ts, kind, device, body) must agree. Small bounds make the byte bound, the
// age bound, the hot tail's bound and the quarantine's bound all bite.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, expect, it } from "vitest";
import type { RecordKind } from "../../protocol/batch.js";
import type { StoredRecord } from "../../gateway/buffer/record-buffer.js";
import { SqliteBuffer } from "../../gateway/buffer/sqlite-buffer.js";

const dir = mkdtempSync(join(tmpdir(), "vw-buffer-model-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MAX_BYTES = 200;
const MAX_AGE_S = 60;
const QUARANTINE_MAX = 4;
const T0 = 1_764_331_200_000_000;

interface ModelRecord {
  id: number;
  ts: number;
  kind: RecordKind;
  device: string;
  body: number[];
  priority: boolean;
}

/** The reference: what the buffer promises (record-buffer.ts), with nothing optimised. */
class Model {
  records = new Map<number, ModelRecord>();
  leased = new Set<number>();
  seen = new Set<string>();
  lastId = 0;
  lastTs = 0;
  quarantined = 0;
  now = T0;

  get bytes(): number {
    let bytes = 0;
    for (const r of this.records.values()) bytes += r.body.length;
    return bytes;
  }

  append(records: Array<{ kind: RecordKind; device: string; body: number[]; seq?: number }>, quarantine: number): void {
    for (const r of records) {
      if (r.seq !== undefined) {
        const key = `${r.device}/${r.seq}`;
        if (this.seen.has(key)) continue;
        this.seen.add(key);
      }
      this.lastTs = Math.max(this.now, this.lastTs + 1);
      const id = ++this.lastId;
      this.records.set(id, { id, ts: this.lastTs, kind: r.kind, device: r.device, body: r.body, priority: r.kind === "alert" || r.kind === "event" });
    }
    this.quarantine(quarantine);
    // full: the oldest droppable records not in flight go until the bytes fit
    this.evict(() => this.bytes > MAX_BYTES);
  }

  quarantine(count: number): void {
    this.quarantined = Math.min(QUARANTINE_MAX, this.quarantined + count);
  }

  evict(more: (r: ModelRecord) => boolean): number {
    let dropped = 0;
    for (const r of [...this.records.values()].sort((a, b) => a.id - b.id)) {
      if (r.priority || this.leased.has(r.id)) continue;
      if (!more(r)) break;
      this.records.delete(r.id);
      dropped++;
    }
    return dropped;
  }

  pending(): ModelRecord[] {
    const pending = [...this.records.values()].filter((r) => !this.leased.has(r.id));
    return pending.sort((a, b) => Number(b.priority) - Number(a.priority) || a.id - b.id);
  }

  remove(ids: number[]): void {
    for (const id of ids) {
      this.records.delete(id);
      this.leased.delete(id);
    }
  }
}

interface Real {
  buffer: SqliteBuffer;
  path: string;
  /** what the last lease returned and is still leased */
  inFlight: StoredRecord[];
}

const open = (path: string, model: Model) => new SqliteBuffer({ path, maxBytes: MAX_BYTES, maxAgeS: MAX_AGE_S, quarantineMaxRecords: QUARANTINE_MAX, hotTailMaxRecords: 5, nowUs: () => model.now });

function check(model: Model, real: Real): void {
  const stats = real.buffer.stats();
  const pending = model.pending();
  const oldest = [...model.records.values()].sort((a, b) => a.id - b.id)[0];
  expect(stats).toMatchObject({
    records: model.records.size,
    bytes: model.bytes,
    pendingRecords: pending.length,
    pendingBytes: pending.reduce((n, r) => n + r.body.length, 0),
    pendingPriority: pending.filter((r) => r.priority).length,
    oldestTsUs: oldest?.ts ?? null,
    quarantined: model.quarantined,
  });
  const { pendingRecords, pendingBytes, pendingPriority } = stats;
  expect(real.buffer.pending()).toEqual({ pendingRecords, pendingBytes, pendingPriority });
  // the oldest pending timestamp may be a lower bound (it is read from the lease cursor), never above
  if (pending.length > 0) expect(stats.oldestPendingTsUs).toBeLessThanOrEqual(Math.min(...pending.map((r) => r.ts)));
}

type Command = fc.Command<Model, Real>;

const kinds: RecordKind[] = ["tele", "tele", "tele", "status", "alert", "event"];
const newRecord = fc.record({
  kind: fc.constantFrom(...kinds),
  device: fc.constantFrom("d-1", "d-2"),
  size: fc.integer({ min: 1, max: 40 }),
  seq: fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }),
});

class Append implements Command {
  constructor(
    readonly records: Array<{ kind: RecordKind; device: string; size: number; seq?: number | undefined }>,
    readonly quarantine: number,
  ) {}
  check = () => true;
  run(model: Model, real: Real): void {
    const fill = (i: number) => (model.lastId + i) % 256;
    const records = this.records.map((r, i) => ({ kind: r.kind, device: r.device, body: Array.from({ length: r.size }, () => fill(i)), seq: r.seq }));
    real.buffer.append(
      records.map((r) => ({ kind: r.kind, device: r.device, body: Uint8Array.from(r.body), ...(r.seq !== undefined ? { dedupe: { device: r.device, boot: 1, seq: r.seq } } : {}) })),
      Array.from({ length: this.quarantine }, () => ({ topic: "t", device: "d-9", code: "VW_SCHEMA", reason: "r", payload: Uint8Array.from([1]) })),
    );
    model.append(records, this.quarantine);
    check(model, real);
  }
  toString = () => `append(${JSON.stringify(this.records)}, q=${this.quarantine})`;
}

class Lease implements Command {
  constructor(
    readonly maxRecords: number,
    readonly maxBytes: number,
  ) {}
  check = () => true;
  run(model: Model, real: Real): void {
    const pending = model.pending();
    const out = real.buffer.lease(this.maxRecords, this.maxBytes);
    // leased records are pending ones, exactly as stored, alerts/events first, then oldest first
    const order = pending.map((r) => r.id);
    let last = -1;
    for (const record of out) {
      const expected = model.records.get(record.id);
      expect(expected, `record ${record.id}`).toBeDefined();
      expect(model.leased.has(record.id)).toBe(false);
      expect({ ts: record.ts, kind: record.kind, device: record.device, body: Array.from(record.body) }).toEqual({ ts: expected!.ts, kind: expected!.kind, device: expected!.device, body: expected!.body });
      const at = order.indexOf(record.id);
      expect(at).toBeGreaterThan(last);
      last = at;
      model.leased.add(record.id);
    }
    expect(out.length).toBeLessThanOrEqual(this.maxRecords);
    if (out.length > 1) expect(out.reduce((n, r) => n + r.body.length, 0)).toBeLessThanOrEqual(this.maxBytes);
    real.inFlight.push(...out);
    check(model, real);
  }
  toString = () => `lease(${this.maxRecords}, ${this.maxBytes})`;
}

/** settles every `every`-th record in flight from `from` on */
const pick = (real: Real, from: number, every: number) => real.inFlight.filter((_, i) => i >= from && (i - from) % every === 0);
const settle = (real: Real, picked: StoredRecord[]) => (real.inFlight = real.inFlight.filter((r) => !picked.includes(r)));

class Complete implements Command {
  constructor(
    readonly from: number,
    readonly every: number,
    readonly stray: boolean,
  ) {}
  check = () => true;
  run(model: Model, real: Real): void {
    const picked = pick(real, this.from, this.every);
    // a stray id (never leased, or already gone) must change nothing but itself
    const ids = picked.map((r) => r.id);
    if (this.stray) ids.push(model.lastId + 1000);
    real.buffer.complete(ids);
    model.remove(picked.map((r) => r.id));
    settle(real, picked);
    check(model, real);
  }
  toString = () => `complete(from ${this.from}, every ${this.every}${this.stray ? ", stray" : ""})`;
}

class Reject implements Command {
  constructor(
    readonly from: number,
    readonly every: number,
  ) {}
  check = () => true;
  run(model: Model, real: Real): void {
    const picked = pick(real, this.from, this.every);
    real.buffer.reject(picked.map((r) => ({ id: r.id, code: "VW_FIELD_TYPE", reason: "refused" })));
    model.remove(picked.map((r) => r.id));
    model.quarantine(picked.length);
    settle(real, picked);
    check(model, real);
  }
  toString = () => `reject(from ${this.from}, every ${this.every})`;
}

class Release implements Command {
  constructor(
    readonly from: number,
    readonly every: number,
  ) {}
  check = () => true;
  run(model: Model, real: Real): void {
    const picked = pick(real, this.from, this.every);
    real.buffer.release(picked.map((r) => r.id));
    for (const r of picked) model.leased.delete(r.id);
    settle(real, picked);
    check(model, real);
  }
  toString = () => `release(from ${this.from}, every ${this.every})`;
}

class Expire implements Command {
  constructor(readonly advanceS: number) {}
  check = () => true;
  run(model: Model, real: Real): void {
    model.now += this.advanceS * 1e6;
    const cutoff = model.now - MAX_AGE_S * 1e6;
    expect(real.buffer.expire()).toBe(model.evict((r) => r.ts < cutoff));
    check(model, real);
  }
  toString = () => `expire(+${this.advanceS} s)`;
}

class Restart implements Command {
  check = () => true;
  run(model: Model, real: Real): void {
    real.buffer.close();
    real.buffer = open(real.path, model);
    // leases live in memory only: after a restart everything is pending again
    model.leased.clear();
    real.inFlight = [];
    check(model, real);
  }
  toString = () => "restart";
}

const index = fc.integer({ min: 0, max: 6 });
const every = fc.integer({ min: 1, max: 3 });
const commands = [
  fc.tuple(fc.array(newRecord, { maxLength: 8 }), fc.integer({ min: 0, max: 2 })).map(([records, quarantine]) => new Append(records, quarantine)),
  fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 120 })).map(([n, bytes]) => new Lease(n, bytes)),
  fc.tuple(index, every, fc.boolean()).map(([from, n, stray]) => new Complete(from, n, stray)),
  fc.tuple(index, every).map(([from, n]) => new Reject(from, n)),
  fc.tuple(index, every).map(([from, n]) => new Release(from, n)),
  fc.integer({ min: 0, max: 90 }).map((s) => new Expire(s)),
  fc.constant(new Restart()),
];

let runs = 0;
it("agrees with a reference model for any sequence of append, lease, complete, reject, release, expire and restart", () => {
  fc.assert(
    fc.property(fc.commands(commands, { maxCommands: 60 }), (cmds) => {
      const model = new Model();
      const path = join(dir, `model-${runs++}.db`);
      const real: Real = { buffer: open(path, model), path, inFlight: [] };
      try {
        fc.modelRun(() => ({ model, real }), cmds);
        // and nothing is stuck: leasing until nothing is pending hands out every record once
        real.buffer.release(real.inFlight.map((r) => r.id));
        model.leased.clear();
        const seen = new Set<number>();
        for (let round = 0; round < 1000 && real.buffer.pending().pendingRecords > 0; round++) {
          const batch = real.buffer.lease(3, 1e9);
          for (const r of batch) seen.add(r.id);
          real.buffer.complete(batch.map((r) => r.id));
        }
        expect([...seen].sort((a, b) => a - b)).toEqual([...model.records.keys()].sort((a, b) => a - b));
        expect(real.buffer.stats().records).toBe(0);
      } finally {
        real.buffer.close();
        rmSync(path, { force: true });
        rmSync(`${path}-wal`, { force: true });
        rmSync(`${path}-shm`, { force: true });
      }
    }),
    { numRuns: 150 },
  );
});
