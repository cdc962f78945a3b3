// The contract every Writer (cloud/storage/writer.ts) honours, run against each implementation by
// writer-contract.test.ts (MQTT.js abstract_store / Telegraf buffer_suite style).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Writer } from "../../cloud/storage/writer.js";
import { StorageUnavailableError } from "../../cloud/storage/writer.js";
import type { StoredRecord } from "../../cloud/storage/point-schema.js";
import { validateRecord } from "../../protocol/schema/validate.js";
import { alertRecord, eventRecord, gatewayRecord, GW, SITE, statusRecord, teleRecord, willRecord } from "./helpers/ingest-fixture.js";
import type { BatchRecord } from "../../protocol/batch.js";

/** A point as read back: its time (µs) and numeric fields (enough to identify the record). */
export interface ReadPoint {
  timeUs: number;
  fields: Record<string, unknown>;
}

export interface WriterUnderTest {
  writer: Writer;
  /** points of one measurement and device, one per distinct timestamp, by time */
  readBack(measurement: string, device: string, expected: number): Promise<ReadPoint[]>;
  /** a writer of the same kind whose storage is not there (nothing listening, closed file) */
  unavailableWriter(): Promise<Writer>;
  dispose(): Promise<void>;
}

function points(records: BatchRecord[]): StoredRecord[] {
  return records.map((record, index) => ({ record: validateRecord(record, index), site: SITE, gateway: GW }));
}

export function writerContract(name: string, setup: () => Promise<WriterUnderTest>): void {
  describe(`Writer contract: ${name}`, () => {
    let subject: WriterUnderTest;
    beforeAll(async () => {
      subject = await setup();
    });
    afterAll(async () => {
      await subject?.dispose();
    });

    it("stores a point for every record kind, at the record's timestamp, with its id and sequence as fields", async () => {
      const device = `contract-a-${name}`.slice(0, 24);
      const records = [teleRecord(device, 10), teleRecord(device, 11), alertRecord(device, 12), statusRecord(device, 13), willRecord(device), eventRecord(device)];
      const result = await subject.writer.write(points(records));
      expect(result.rejected).toEqual([]);
      const tele = await subject.readBack("vw_tele", device, 2);
      expect(tele.map((p) => [p.timeUs, p.fields.rid, p.fields.seq])).toEqual([
        [records[0]!.ts, records[0]!.id, 10],
        [records[1]!.ts, records[1]!.id, 11],
      ]);
      expect(tele[0]!.fields.vrms_max).toBeCloseTo(2.31, 6);
      const alert = await subject.readBack("vw_alert", device, 1);
      expect(alert.map((p) => [p.timeUs, p.fields.rid, p.fields.level])).toEqual([[records[2]!.ts, records[2]!.id, 2]]);
      const status = await subject.readBack("vw_status", device, 2);
      expect(status.map((p) => [p.timeUs, p.fields.rid])).toEqual([
        [records[3]!.ts, records[3]!.id],
        [records[4]!.ts, records[4]!.id],
      ]);
      const events = await subject.readBack("vw_event", device, 1);
      expect(events.map((p) => [p.timeUs, p.fields.rid, p.fields.n])).toEqual([[records[5]!.ts, records[5]!.id, 1]]);
    });

    it("does not duplicate a point when the same records are written again (retries overwrite)", async () => {
      const device = `contract-b-${name}`.slice(0, 24);
      const records = [teleRecord(device, 1), teleRecord(device, 2), teleRecord(device, 3), gatewayRecord(device)];
      for (let attempt = 0; attempt < 3; attempt += 1) {
        expect((await subject.writer.write(points(records))).rejected).toEqual([]);
      }
      const tele = await subject.readBack("vw_tele", device, 3);
      expect(tele.map((p) => p.fields.rid)).toEqual(records.slice(0, 3).map((r) => r.id));
      const gateway = await subject.readBack("vw_gateway", device, 1);
      expect(gateway.map((p) => [p.fields.rid, p.fields.buffer_records])).toEqual([[records[3]!.id, 12]]);
    });

    it("accepts an empty write without touching the storage", async () => {
      expect(await subject.writer.write([])).toEqual({ rejected: [] });
    });

    it("answers ping while the storage is up", async () => {
      expect(await subject.writer.ping()).toBe(true);
    });

    it("throws StorageUnavailableError (never resolves) when the storage is not there, and ping says false", async () => {
      const writer = await subject.unavailableWriter();
      try {
        await expect(writer.write(points([teleRecord("contract-down", 1)]))).rejects.toBeInstanceOf(StorageUnavailableError);
        expect(await writer.ping()).toBe(false);
      } finally {
        await writer.close();
      }
    });
  });
}
