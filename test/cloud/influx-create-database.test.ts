// A fresh InfluxDB 1.x under the ingest service (issue 19): nothing had created the database, so
// every batch was answered 503 "database not found" for good. The v1 writer now creates it at the
// first write that finds it missing (as Telegraf's InfluxDB output does), unless told not to; then
// the 503 names the database and what to do.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startInfluxDb, type InfluxHandle } from "../helpers/services.js";
import { build } from "../../cloud/app.js";
import { InfluxV1Writer } from "../../cloud/storage/influx-v1-writer.js";
import type { BatchReply, ErrorReply } from "../../protocol/batch.js";
import { makeBatch, makeTokens, postBatch, teleRecord, testConfig, type Tokens } from "./helpers/ingest-fixture.js";
import { influxReadBack } from "./helpers/influx-read-back.js";

describe("ingest service on a fresh InfluxDB", () => {
  let influx: InfluxHandle;
  let tokens: Tokens;
  beforeAll(async () => {
    influx = await startInfluxDb(); // no database created
    tokens = await makeTokens();
  });
  afterAll(async () => {
    await influx?.dispose();
  });

  const serve = async (database: string, createDatabase?: boolean) => {
    const writer = new InfluxV1Writer({ url: influx.url, database, timeoutMs: 5000, gzipThresholdBytes: 4096, maxLinesPerWrite: 5000, ...(createDatabase === undefined ? {} : { createDatabase }) });
    const app = await build({ config: testConfig(tokens), writer });
    return { writer, app, close: async () => (await app.close(), await writer.close()) };
  };

  it("creates the missing database at the first batch and stores it", async () => {
    const { writer, app, close } = await serve("plant_fresh");
    try {
      const batch = makeBatch([teleRecord("fresh-1", 1), teleRecord("fresh-1", 2)]);
      const response = await postBatch(app, batch, { token: tokens.token });
      expect(response.statusCode, response.body).toBe(200);
      expect((JSON.parse(response.body) as BatchReply).stored).toEqual(batch.recs.map((r) => r.id));
      expect(writer.databasesCreated).toBe(1);
      expect((await influxReadBack(influx, "plant_fresh", "vw_tele", "fresh-1")).map((p) => p.fields.rid)).toEqual(batch.recs.map((r) => r.id));
      // the next batch finds it: no second CREATE
      expect((await postBatch(app, makeBatch([teleRecord("fresh-1", 3)]), { token: tokens.token })).statusCode).toBe(200);
      expect(writer.databasesCreated).toBe(1);
    } finally {
      await close();
    }
  });

  it("with createDatabase off, answers 503 naming the database and what to do, and acknowledges nothing", async () => {
    const { app, close } = await serve("plant_absent", false);
    try {
      const response = await postBatch(app, makeBatch([teleRecord("absent-1", 1)]), { token: tokens.token });
      expect(response.statusCode).toBe(503);
      const error = JSON.parse(response.body) as ErrorReply;
      expect(error.code).toBe("VW_STORAGE_UNAVAILABLE");
      expect(error.message).toContain('no database "plant_absent" and createDatabase is off: create it');
    } finally {
      await close();
    }
  });
});

describe("ingest service, InfluxDB v2 API without the bucket", () => {
  it("says which bucket is missing in which org, and how to create it", async () => {
    // a 404 from /api/v2/write, as InfluxDB 2 answers for an unknown bucket: VictoriaMetrics (the
    // suite's v2 peer) accepts any bucket, so the client's own HttpError stands in for the reply
    const { HttpError } = await import("@influxdata/influxdb-client");
    const { classifyV2Error } = await import("../../cloud/storage/influx-v2-writer.js");
    const error = classifyV2Error(new HttpError(404, "Not Found", '{"code":"not found","message":"bucket \\"vw\\" not found"}'), { org: "plant", bucket: "vw" });
    expect(error.message).toContain('InfluxDB has no bucket "vw" in org "plant": create it (influx bucket create --name vw --org plant)');
    expect((error as { reason?: string }).reason).toBe("no-database");
  });
});
