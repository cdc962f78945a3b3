// InfluxDB goes away (stopped, or hung) under the ingest service: batches get 503 with Retry-After
// and nothing is acknowledged; once InfluxDB is back the gateway's retries land exactly once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { startInfluxDb, type InfluxHandle } from "../helpers/services.js";
import { build } from "../../cloud/app.js";
import { InfluxV1Writer } from "../../cloud/storage/influx-v1-writer.js";
import type { Batch, BatchReply, ErrorReply } from "../../protocol/batch.js";
import { makeBatch, makeTokens, postBatch, teleRecord, testConfig, type Tokens } from "./helpers/ingest-fixture.js";
import { influxReadBack } from "./helpers/influx-read-back.js";

describe("InfluxDB outage under the ingest service", () => {
  let influx: InfluxHandle;
  let tokens: Tokens;
  let writer: InfluxV1Writer;
  let app: FastifyInstance;
  beforeAll(async () => {
    influx = await startInfluxDb();
    await influx.createDatabase("vw_outage");
    tokens = await makeTokens();
    // 5 s: the hung-write test needs its first write still in flight when its second batch
    // arrives; at 1.5 s a loaded CI machine once let the first time out before the second came
    writer = new InfluxV1Writer({ url: influx.url, database: "vw_outage", timeoutMs: 5000, gzipThresholdBytes: 4096, maxLinesPerWrite: 5000 });
    app = await build({ config: testConfig(tokens, { writes: { maxConcurrent: 1, maxQueued: 0, retryAfterS: 7 } }), writer });
  });
  afterAll(async () => {
    await app?.close();
    await writer?.close();
    await influx?.dispose();
  });

  const rids = async (device: string): Promise<number[]> => (await influxReadBack(influx, "vw_outage", "vw_tele", device)).map((p) => p.fields.rid as number);

  it("answers 503 with Retry-After and acknowledges nothing while InfluxDB is stopped, then stores every retried record exactly once", async () => {
    const device = "outage";
    const batches: Batch[] = Array.from({ length: 12 }, (_, i) => makeBatch([teleRecord(device, 3 * i), teleRecord(device, 3 * i + 1), teleRecord(device, 3 * i + 2)]));
    const acknowledged = new Set<number>();
    const pending: Batch[] = [];
    for (const [index, batch] of batches.entries()) {
      if (index === 4) await influx.stop();
      const response = await postBatch(app, batch, { token: tokens.token });
      if (index < 4) {
        expect(response.statusCode).toBe(200);
        for (const id of (JSON.parse(response.body) as BatchReply).stored) acknowledged.add(id);
      } else {
        expect(response.statusCode).toBe(503);
        expect(response.headers["retry-after"]).toBe("7");
        expect((JSON.parse(response.body) as ErrorReply).code).toBe("VW_STORAGE_UNAVAILABLE");
        pending.push(batch);
      }
    }
    expect((await app.inject({ url: "/readyz" })).statusCode).toBe(503);
    expect((await app.inject({ url: "/healthz" })).statusCode).toBe(200);
    const metrics = await app.inject({ url: "/metrics" });
    expect(metrics.body).toMatch(/vw_ingest_storage_errors_total\{storage="influx-v1",reason="down"\} 8/);

    await influx.start();
    expect((await app.inject({ url: "/readyz" })).statusCode).toBe(200);
    // the gateway retries what was not acknowledged, and (at-least-once) some of what was
    for (const batch of [...pending, batches[3]!]) {
      const response = await postBatch(app, batch, { token: tokens.token });
      expect(response.statusCode).toBe(200);
      for (const id of (JSON.parse(response.body) as BatchReply).stored) acknowledged.add(id);
    }
    const all = batches.flatMap((b) => b.recs.map((r) => r.id));
    expect([...acknowledged].sort((a, b) => a - b)).toEqual(all);
    expect(await rids(device)).toEqual(all);
  });

  it("answers 503 when InfluxDB hangs past the write timeout, and refuses a second write beyond the concurrency bound with 503 VW_BUSY", async () => {
    const device = "hung";
    const first = makeBatch([teleRecord(device, 1)]);
    const pid = influx.process.pid!;
    process.kill(pid, "SIGSTOP");
    try {
      // the one write slot is taken by the hung write: the next batch is refused at once. A write
      // that ends before the slot is seen taken (a pooled connection the stopped server had already
      // closed fails at once) is not the case under test: it is noted and sent again, twice at most.
      const early: string[] = [];
      const inFlight = (): number => app.ingest.slots.inFlight;
      let slow: ReturnType<typeof postBatch> | undefined;
      for (let attempt = 0; attempt < 3 && inFlight() === 0; attempt += 1) {
        const sent = postBatch(app, first, { token: tokens.token });
        let settled = false;
        void sent.then(() => (settled = true), () => (settled = true));
        while (!settled && inFlight() === 0) await new Promise((r) => setTimeout(r, 1));
        if (inFlight() === 1) slow = sent;
        else early.push(`attempt ${attempt}: ${(await sent).statusCode} ${(await sent).body}`);
      }
      expect(inFlight(), `no write held the slot; writes that ended first: ${early.join("; ")}`).toBe(1);
      const busy = await postBatch(app, makeBatch([teleRecord(device, 2)]), { token: tokens.token });
      expect(busy.statusCode).toBe(503);
      expect((JSON.parse(busy.body) as ErrorReply).code).toBe("VW_BUSY");
      expect(busy.headers["retry-after"]).toBe("7");
      const timedOut = await slow!;
      expect(timedOut.statusCode).toBe(503);
      expect((JSON.parse(timedOut.body) as ErrorReply).message).toContain("timed out");
    } finally {
      process.kill(pid, "SIGCONT");
    }
    const metrics = await app.inject({ url: "/metrics" });
    expect(metrics.body).toMatch(/vw_ingest_storage_errors_total\{storage="influx-v1",reason="timeout"\} 1/);
    expect(metrics.body).toMatch(/vw_ingest_requests_refused_total\{code="VW_BUSY"\} 1/);
    // after the hang the gateway's retry of the same batch goes through, once
    const retry = await postBatch(app, first, { token: tokens.token });
    expect(retry.statusCode).toBe(200);
    expect(await rids(device)).toEqual([first.recs[0]!.id]);
  });
});
