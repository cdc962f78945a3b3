// The service configured for the InfluxDB v2 write API (@influxdata/influxdb-client) against a real
// server that implements /api/v2/write (VictoriaMetrics): batches land as points, and a stopped
// server gives 503 with Retry-After.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { startVictoriaMetrics, type VictoriaHandle } from "../helpers/services.js";
import { build } from "../../cloud/app.js";
import { makeBatch, makeTokens, postBatch, statusRecord, teleRecord, testConfig, type Tokens } from "./helpers/ingest-fixture.js";

describe("ingest through the InfluxDB v2 client", () => {
  let vm: VictoriaHandle;
  let tokens: Tokens;
  let app: FastifyInstance;
  beforeAll(async () => {
    vm = await startVictoriaMetrics();
    tokens = await makeTokens();
    app = await build({
      config: testConfig(tokens, { storage: { type: "influx-v2", url: vm.url, token: "vw-token", org: "vw", bucket: "vibewatch", timeoutMs: 2000, gzipThresholdBytes: 512 } }),
    });
  });
  afterAll(async () => {
    await app?.close();
    await vm?.dispose();
  });

  it("stores telemetry and status through /api/v2/write with µs timestamps and the schema's tags", async () => {
    const records = [teleRecord("v2-pump", 1), teleRecord("v2-pump", 2), statusRecord("v2-pump", 3)];
    const response = await postBatch(app, makeBatch(records), { token: tokens.token });
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body).stored).toEqual(records.map((r) => r.id));
    const seq = await vm.exportSeries('{__name__="vw_tele_seq",device="v2-pump"}');
    expect(seq).toHaveLength(1);
    expect(seq[0]!.metric).toEqual({ __name__: "vw_tele_seq", device: "v2-pump", gateway: "gw-plant-1", site: "plant-1" });
    expect(seq[0]!.values).toEqual([1, 2]);
    expect(seq[0]!.timestamps).toEqual([records[0]!.ts / 1000, records[1]!.ts / 1000]);
    const online = await vm.exportSeries('{__name__="vw_status_rssi_dbm",device="v2-pump"}');
    expect(online[0]!.values).toEqual([-61]);
    expect((await app.inject({ url: "/readyz" })).statusCode).toBe(200);
  });

  it("answers 503 with Retry-After while the server is stopped, and stores the retry once it is back", async () => {
    const batch = makeBatch([teleRecord("v2-outage", 1)]);
    await vm.stop();
    const refused = await postBatch(app, batch, { token: tokens.token });
    expect(refused.statusCode).toBe(503);
    expect(refused.headers["retry-after"]).toBe("5");
    expect((await app.inject({ url: "/readyz" })).statusCode).toBe(503);
    await vm.start();
    const stored = await postBatch(app, batch, { token: tokens.token });
    expect(stored.statusCode).toBe(200);
    const seq = await vm.exportSeries('{__name__="vw_tele_seq",device="v2-outage"}');
    expect(seq[0]!.values).toEqual([1]);
  });
});
