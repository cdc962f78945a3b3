// Record -> InfluxDB line: the schema of cloud/README.md (tags site/gateway/device only, ids and
// sequence numbers as fields, physical units, time = record ts in µs) and line-protocol escaping.
import { describe, expect, it } from "vitest";
import { formatLines, recordToLine } from "../../cloud/storage/line-protocol.js";
import { recordToPoint } from "../../cloud/storage/point-schema.js";
import { sampleBatch, sampleStatus } from "../../protocol/examples.js";
import type { BatchRecord } from "../../protocol/batch.js";
import { alertRecord, eventRecord, gatewayRecord, teleRecord, willRecord } from "./helpers/ingest-fixture.js";

describe("line protocol", () => {
  it("writes telemetry with only site/gateway/device as tags, ids as integer fields, physical units and the record's µs time", () => {
    const record = sampleBatch.recs[0]!;
    const line = recordToLine(record, "plant-1", "gw-plant-1");
    const [head, fields, time] = line.split(" ");
    expect(head).toBe("vw_tele,device=pump-07,gateway=gw-plant-1,site=plant-1");
    expect(time).toBe(String(record.ts));
    for (const field of ["seq=1042i", "boot=2864434397i", "rid=1i", "vrms_x=2.31", "vrms_max=2.31", "arms_x=4.12", "e3=0.31", 'zone_letter="B"', "zone=1i", "anomaly=0.87", "band_hi=1000i"]) {
      expect(fields!.split(",")).toContain(field);
    }
  });

  it("formats centi-units exactly, negative and small values included", () => {
    const pairs: [number, string][] = [[231, "2.31"], [200, "2.00"], [5, "0.05"], [0, "0.00"], [-5, "-0.05"], [-1234, "-12.34"], [10_000_000, "100000.00"]];
    for (const [centi, text] of pairs) {
      expect(recordToLine(alertRecord("pump-1", 1, { k: "vrms", x: centi, y: -centi }), "s", "g")).toContain(`value=${text},threshold=${centi === 0 ? "" : centi > 0 ? "-" : ""}${text.replace("-", "")}`);
    }
  });

  it("stores each kind's value and threshold in the kind's unit, zone alerts in mm/s like vrms (issue 19: zone C was stored as 0.02)", () => {
    const line = recordToLine(alertRecord("pump-1", 1, { k: "zone", l: 1, x: 315, y: 280, z: 2, m: "vrms 3.15 mm/s: zone C" }), "s", "g");
    expect(line).toContain("value=3.15,threshold=2.80,zone=2i");
    const vrms = recordToLine(alertRecord("pump-1", 2, { k: "vrms", l: 2, x: 450, y: 280 }), "s", "g");
    expect(vrms).toContain("value=4.50,threshold=2.80");
  });

  it("leaves anomaly out while the device is learning", () => {
    expect(recordToLine(teleRecord("pump-1", 1, { n: null }), "s", "g")).not.toContain("anomaly");
  });

  it("escapes string fields (quotes, backslashes) and flattens newlines so one record stays one line", () => {
    const record: BatchRecord = alertRecord("pump-1", 1, { m: 'say "hi"\\ there\nnext, a=b' });
    const line = recordToLine(record, "s", "g");
    expect(line.split("\n")).toHaveLength(1);
    expect(line).toContain('message="say \\"hi\\"\\\\ there next, a=b"');
    expect(line).toContain('kind="zone"');
    expect(line).toContain("level=2i");
  });

  it("escapes tag values and writes the Will, gateway status and events to their measurements", () => {
    expect(recordToLine(eventRecord("pump-1"), "a b", "c,d")).toMatch(/^vw_event,device=pump-1,gateway=c\\,d,site=a\\ b event="offline",n=1i,message="no status for 90 s",rid=\d+i \d+$/);
    expect(recordToLine(willRecord("pump-1"), "s", "g")).toMatch(/^vw_status,device=pump-1,gateway=g,site=s boot=2864434397i,online=false,rid=\d+i \d+$/);
    expect(recordToLine(gatewayRecord("gw-1"), "s", "gw-1")).toMatch(/^vw_gateway,device=gw-1,gateway=gw-1,site=s buffer_records=12i,buffer_bytes=2048i,oldest_age_s=3i,uptime_s=600i,dropped=0i,devices_online=2i,rid=\d+i \d+$/);
  });

  it("gives the embedded store the same fields as plain values", () => {
    const record = sampleBatch.recs[0]!;
    const point = recordToPoint({ record, site: "plant-1", gateway: "gw-plant-1" });
    expect(point).toMatchObject({ measurement: "vw_tele", tags: { site: "plant-1", gateway: "gw-plant-1", device: "pump-07" }, timeUs: record.ts });
    expect(point.fields).toMatchObject({ seq: 1042, vrms_max: 2.31, zone_letter: "B", rid: 1, anomaly: 0.87 });
    const fromLine = recordToLine(record, "plant-1", "gw-plant-1").split(" ")[1]!.split(",").map((pair) => pair.split("=")[0]);
    expect(Object.keys(point.fields)).toEqual(fromLine);
  });

  it("keeps every line whole and its offsets exact when a batch of long multi-byte strings outgrows the buffer", () => {
    const records = Array.from({ length: 3000 }, (_, i) => ({
      record: { id: i + 1, ts: 1_764_000_000_000_000 + i, k: "status" as const, d: "dev-1", p: { ...sampleStatus, er: "é".repeat(96), fw: "ü".repeat(24) } },
      site: "s",
      gateway: "g",
    }));
    const { bytes, offsets } = formatLines(records);
    expect(offsets).toHaveLength(3001);
    expect(offsets[3000]).toBe(bytes.length);
    records.forEach(({ record }, i) => {
      const line = bytes.toString("utf8", offsets[i], offsets[i + 1]);
      expect(line).toBe(`${recordToLine(record, "s", "g")}\n`);
      expect(line).toContain(`error="${"é".repeat(96)}"`);
    });
  });
});
