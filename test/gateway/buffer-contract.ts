// The contract every RecordBuffer implementation must pass (like MQTT.js's abstract_store and
// Telegraf's buffer_suite_test.go): run it from each implementation's test file.
import { describe, expect, it } from "vitest";
import type { NewRecord, RecordBuffer } from "../../gateway/buffer/record-buffer.js";

export interface BufferFactory {
  /** a fresh, empty buffer with these bounds; `nowUs` drives its clock */
  create(bounds: { maxBytes: number; maxAgeS: number }, nowUs: () => number): RecordBuffer;
}

const tele = (i: number, bytes = 10): NewRecord => ({ kind: "tele", device: "dev-1", body: new Uint8Array(bytes).fill(i % 256), dedupe: { device: "dev-1", boot: 1, seq: i } });
const alertRecord = (i: number, bytes = 10): NewRecord => ({ kind: "alert", device: "dev-1", body: new Uint8Array(bytes).fill(7), dedupe: { device: "dev-1", boot: 1 + 1000, seq: i } });

export function bufferContract(name: string, factory: BufferFactory): void {
  describe(`${name}: RecordBuffer contract`, () => {
    const clock = () => {
      let now = 1_764_331_200_000_000;
      return { nowUs: () => now, advance: (us: number) => (now += us), set: (us: number) => (now = us) };
    };

    it("assigns stable ids and strictly increasing timestamps even when the clock stands still or steps back", () => {
      const time = clock();
      const buffer = factory.create({ maxBytes: 1e9, maxAgeS: 1e6 }, time.nowUs);
      buffer.append([tele(1), tele(2)]);
      time.advance(-5_000_000);
      buffer.append([tele(3)]);
      const leased = buffer.lease(10, 1e9);
      expect(leased.map((r) => r.id)).toEqual([...leased.map((r) => r.id)].sort((a, b) => a - b));
      for (let i = 1; i < leased.length; i++) expect(leased[i]!.ts).toBeGreaterThan(leased[i - 1]!.ts);
      expect(new Set(leased.map((r) => r.id)).size).toBe(3);
      buffer.close();
    });

    it("does not store a record whose dedupe key it has seen (QoS 1 redelivery), even after forwarding it", () => {
      const buffer = factory.create({ maxBytes: 1e9, maxAgeS: 1e6 }, clock().nowUs);
      expect(buffer.append([tele(1), tele(1)]).duplicates).toBe(1);
      buffer.complete(buffer.lease(10, 1e9).map((r) => r.id));
      const again = buffer.append([tele(1)]);
      expect(again.stored).toBe(0);
      expect(again.duplicates).toBe(1);
      expect(buffer.stats().records).toBe(0);
      buffer.close();
    });

    it("leases alerts before older telemetry, and never leases a record twice while it is in flight", () => {
      const buffer = factory.create({ maxBytes: 1e9, maxAgeS: 1e6 }, clock().nowUs);
      buffer.append([tele(1), tele(2), tele(3), alertRecord(1)]);
      const first = buffer.lease(2, 1e9);
      expect(first.map((r) => r.kind)).toEqual(["alert", "tele"]);
      const second = buffer.lease(10, 1e9);
      expect(second.map((r) => r.kind)).toEqual(["tele", "tele"]);
      expect(buffer.lease(10, 1e9)).toEqual([]);
      buffer.close();
    });

    it("gives released records back in order and deletes completed ones", () => {
      const buffer = factory.create({ maxBytes: 1e9, maxAgeS: 1e6 }, clock().nowUs);
      buffer.append([tele(1), tele(2), tele(3)]);
      const leased = buffer.lease(3, 1e9);
      buffer.complete([leased[0]!.id]);
      buffer.release([leased[1]!.id, leased[2]!.id]);
      const again = buffer.lease(10, 1e9);
      expect(again.map((r) => r.id)).toEqual([leased[1]!.id, leased[2]!.id]);
      expect(again[0]!.ts).toBe(leased[1]!.ts);
      expect(buffer.stats().records).toBe(2);
      buffer.close();
    });

    it("counts pending records, bytes and alerts the same in pending() as in stats(), step by step", () => {
      const buffer = factory.create({ maxBytes: 1e9, maxAgeS: 1e6 }, clock().nowUs);
      const same = (expected: { pendingRecords: number; pendingBytes: number; pendingPriority: number }) => {
        const { pendingRecords, pendingBytes, pendingPriority } = buffer.stats();
        expect(buffer.pending()).toEqual({ pendingRecords, pendingBytes, pendingPriority });
        expect(buffer.pending()).toEqual(expected);
      };
      same({ pendingRecords: 0, pendingBytes: 0, pendingPriority: 0 });
      buffer.append([tele(1, 10), tele(2, 20), alertRecord(1, 5)]);
      same({ pendingRecords: 3, pendingBytes: 35, pendingPriority: 1 });
      const leased = buffer.lease(2, 1e9); // the alert, then tele 1
      same({ pendingRecords: 1, pendingBytes: 20, pendingPriority: 0 });
      buffer.release([leased[1]!.id]);
      same({ pendingRecords: 2, pendingBytes: 30, pendingPriority: 0 });
      buffer.complete([leased[0]!.id]);
      same({ pendingRecords: 2, pendingBytes: 30, pendingPriority: 0 });
      buffer.close();
    });

    it("respects the byte bound of a batch but always returns at least one record", () => {
      const buffer = factory.create({ maxBytes: 1e9, maxAgeS: 1e6 }, clock().nowUs);
      buffer.append([tele(1, 100), tele(2, 100), tele(3, 100)]);
      expect(buffer.lease(10, 250)).toHaveLength(2);
      expect(buffer.lease(10, 50)).toHaveLength(1);
      buffer.close();
    });

    it("when full drops exactly the oldest telemetry needed, never alerts, never records in flight", () => {
      const buffer = factory.create({ maxBytes: 100, maxAgeS: 1e6 }, clock().nowUs);
      buffer.append([tele(1), tele(2)]);
      const inFlight = buffer.lease(1, 1e9); // tele 1 is in flight
      buffer.append([alertRecord(1, 30), alertRecord(2, 30)]);
      buffer.append([tele(3), tele(4), tele(5)]); // 20 + 60 + 30 = 110 > 100: drop 1 telemetry (tele 2)
      const stats = buffer.stats();
      expect(stats.bytes).toBeLessThanOrEqual(100);
      expect(stats.records).toBe(1 + 2 + 3); // tele 1 (in flight), 2 alerts, tele 3..5
      buffer.complete(inFlight.map((r) => r.id));
      buffer.append([alertRecord(3, 90)]); // alerts are kept even beyond the bound: all telemetry goes
      const rest = buffer.lease(100, 1e9);
      expect(rest.filter((r) => r.kind === "alert")).toHaveLength(3);
      expect(rest.filter((r) => r.kind === "tele")).toHaveLength(0);
      buffer.close();
    });

    it("drops telemetry older than the age bound but keeps old alerts", () => {
      const time = clock();
      const buffer = factory.create({ maxBytes: 1e9, maxAgeS: 60 }, time.nowUs);
      buffer.append([tele(1), alertRecord(1)]);
      time.advance(61_000_000);
      buffer.append([tele(2)]);
      expect(buffer.expire()).toBe(1);
      expect(buffer.lease(10, 1e9).map((r) => r.kind).sort()).toEqual(["alert", "tele"]);
      buffer.close();
    });

    it("quarantines records the cloud rejected and deletes them from the buffer", () => {
      const buffer = factory.create({ maxBytes: 1e9, maxAgeS: 1e6 }, clock().nowUs);
      buffer.append([tele(1), tele(2)]);
      const leased = buffer.lease(10, 1e9);
      buffer.reject([{ id: leased[0]!.id, code: "VW_SCHEMA", reason: "bad" }]);
      buffer.complete([leased[1]!.id]);
      const stats = buffer.stats();
      expect(stats.records).toBe(0);
      expect(stats.quarantined).toBe(1);
      buffer.close();
    });
  });
}
