// The loss audit finds exactly the missing and duplicated sequence numbers, from the real stores:
// InfluxDB 1.x (points written as the ingest service writes them) and the embedded SQLite store.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { auditSequences, formatAudit } from "../../cloud/audit/sequence-audit.js";
import { readEmbeddedRows, readInfluxRows } from "../../cloud/audit/audit-sources.js";
import { recordToLine } from "../../cloud/storage/line-protocol.js";
import { EmbeddedStore } from "../../cloud/storage/embedded-store.js";
import type { StoredRecord } from "../../cloud/storage/point-schema.js";
import { sampleStatus, sampleTelemetry } from "../../protocol/examples.js";
import { startInfluxDb, type InfluxHandle } from "../helpers/services.js";
import { runCli } from "../helpers/run-cli.js";

const BASE_US = 1_764_331_200_000_000;

/** pump-07 boot 1: seq 0..9 with 3 and 6-7 missing and 5 stored twice; one status saying 1 drop.
 *  pump-08 boot 2: seq 0..4 complete. */
function records(): StoredRecord[] {
  const out: StoredRecord[] = [];
  let id = 1;
  const push = (d: string, b: number, s: number, kind: "tele" | "status" = "tele") => {
    const p = kind === "tele" ? { ...sampleTelemetry, d, b, s } : { ...sampleStatus, d, b, s, x: 1 };
    out.push({ site: "plant-1", gateway: "gw-1", record: { id, ts: BASE_US + id * 1000, k: kind, d, p } });
    id++;
  };
  for (const s of [0, 1, 2, 4, 5, 8]) push("pump-07", 1, s);
  push("pump-07", 1, 5); // a duplicate: same reading stored under a second timestamp
  push("pump-07", 1, 9, "status");
  for (const s of [0, 1, 2, 3, 4]) push("pump-08", 2, s);
  return out;
}

function expectAudit(rows: ReturnType<typeof readEmbeddedRows>) {
  const report = auditSequences(rows.rows, rows.drops);
  const pump7 = report.boots.find((b) => b.device === "pump-07")!;
  expect(pump7.missing).toBe(3);
  expect(pump7.gaps.map((g) => [g.from, g.to])).toEqual([[3, 3], [6, 7]]);
  expect(pump7.gaps[0]!.afterUs).toBe(BASE_US + 3 * 1000);
  expect(pump7.duplicated).toBe(1);
  expect(pump7.duplicateSeqs).toEqual([5]);
  expect(pump7.droppedByDevice).toBe(1);
  expect(pump7.unexplained).toBe(2);
  const pump8 = report.boots.find((b) => b.device === "pump-08")!;
  expect(pump8).toMatchObject({ missing: 0, duplicated: 0, stored: 5, lastSeq: 4 });
  expect(report.totals).toMatchObject({ devices: 2, boots: 2, missing: 3, duplicated: 1, unexplained: 2 });
  expect(formatAudit(report)).toContain("pump-07 boot 1: seq 0..9, missing 3 [3 after");
}

describe("loss audit", () => {
  it("counts the tail as missing when told how far a boot got", () => {
    const rows = [0, 1, 2].map((seq) => ({ device: "d", boot: 7, seq, timeUs: seq }));
    const report = auditSequences(rows, [], new Map([["d/7", 5]]));
    expect(report.boots[0]).toMatchObject({ missing: 3, lastSeq: 5 });
    expect(report.boots[0]!.gaps).toEqual([{ from: 3, to: 5, afterUs: 2, beforeUs: null }]);
  });

  it("reads the embedded store", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "vw-audit-")), "store.sqlite");
    const store = new EmbeddedStore({ path });
    await store.write(records());
    await store.close();
    expectAudit(readEmbeddedRows(path));
    const cli = await runCli(["audit", "--store", path]);
    expect(cli.code).toBe(1);
    expect(cli.stdout).toContain("missing 3");
  });

  describe("with the real InfluxDB", () => {
    let influx: InfluxHandle;
    beforeAll(async () => {
      influx = await startInfluxDb();
      await influx.createDatabase("vw_audit");
    });
    afterAll(async () => {
      await influx?.dispose();
    });

    it("reads InfluxDB through InfluxQL", async () => {
      await influx.write("vw_audit", records().map((r) => recordToLine(r.record, r.site, r.gateway)).join("\n"), "u");
      expectAudit(await readInfluxRows({ url: influx.url, database: "vw_audit" }));
      const cli = await runCli(["audit", "--influx-url", influx.url, "--database", "vw_audit", "--json"]);
      expect(cli.code).toBe(1);
      expect(JSON.parse(cli.stdout).totals.duplicated).toBe(1);
    });

    it("exits 0 on a clean store", async () => {
      await influx.createDatabase("vw_clean");
      const clean = records().filter((r) => r.record.d === "pump-08");
      await influx.write("vw_clean", clean.map((r) => recordToLine(r.record, r.site, r.gateway)).join("\n"), "u");
      const cli = await runCli(["audit", "--influx-url", influx.url, "--database", "vw_clean"]);
      expect(cli.code).toBe(0);
      expect(cli.stdout).toContain("missing 0");
    });
  });
});
