// InfluxDB itself refuses some points (a field type conflict with data already in the shard, the
// real 1.x "partial write" answer): only those records are rejected, the rest of the batch is
// stored and acknowledged, nothing is stored twice.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { startInfluxDb, type InfluxHandle } from "../helpers/services.js";
import { build } from "../../cloud/app.js";
import { InfluxV1Writer } from "../../cloud/storage/influx-v1-writer.js";
import type { BatchReply } from "../../protocol/batch.js";
import { alertRecord, GW, makeBatch, makeTokens, postBatch, SITE, teleRecord, testConfig, type Tokens } from "./helpers/ingest-fixture.js";
import { influxReadBack } from "./helpers/influx-read-back.js";

describe("InfluxDB refuses some points of a batch", () => {
  let influx: InfluxHandle;
  let tokens: Tokens;
  let writer: InfluxV1Writer;
  let app: FastifyInstance;
  beforeAll(async () => {
    influx = await startInfluxDb();
    await influx.createDatabase("vw_conflict");
    tokens = await makeTokens();
    // small chunks so the bisection also crosses chunk boundaries
    writer = new InfluxV1Writer({ url: influx.url, database: "vw_conflict", timeoutMs: 5000, gzipThresholdBytes: 256, maxLinesPerWrite: 16 });
    app = await build({ config: testConfig(tokens), writer });
  });
  afterAll(async () => {
    await app?.close();
    await writer?.close();
    await influx?.dispose();
  });

  it("rejects only the records whose points hit a field type conflict (VW_STORAGE_REJECTED) and stores the others", async () => {
    const device = "conflict";
    // someone wrote vw_alert.level as a string into this shard: integer levels now conflict
    const tele = Array.from({ length: 40 }, (_, i) => teleRecord(device, i));
    const alerts = [alertRecord(device, 100), alertRecord(device, 101)];
    await influx.write("vw_conflict", `vw_alert,device=${device},gateway=${GW},site=${SITE} level="high" ${alerts[0]!.ts - 500}`);
    const recs = [...tele.slice(0, 13), alerts[0]!, ...tele.slice(13, 31), alerts[1]!, ...tele.slice(31)];
    const batch = makeBatch(recs);
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const response = await postBatch(app, batch, { token: tokens.token });
      expect(response.statusCode).toBe(200);
      const reply = JSON.parse(response.body) as BatchReply;
      expect(reply.stored).toEqual(tele.map((r) => r.id));
      expect(reply.rejected.map((r) => [r.id, r.code])).toEqual(alerts.map((r) => [r.id, "VW_STORAGE_REJECTED"]));
      expect(reply.rejected[0]!.reason).toContain("field type conflict");
    }
    expect((await influxReadBack(influx, "vw_conflict", "vw_tele", device)).map((p) => p.fields.rid)).toEqual(tele.map((r) => r.id));
    const metrics = await app.inject({ url: "/metrics" });
    expect(metrics.body).toMatch(/vw_ingest_records_rejected_total\{reason="VW_STORAGE_REJECTED"\} 4/);
  });
});
