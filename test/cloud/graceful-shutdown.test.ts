// Shutdown while a write is in flight: the batch in flight is still written and answered 200
// before the service closes; new connections are refused from the start of the shutdown.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "node:http";
import { startInfluxDb, type InfluxHandle } from "../helpers/services.js";
import { build } from "../../cloud/app.js";
import { InfluxV1Writer } from "../../cloud/storage/influx-v1-writer.js";
import { cborEncoder } from "../../protocol/schema/validate.js";
import type { Batch } from "../../protocol/batch.js";
import { makeBatch, makeTokens, teleRecord, testConfig, type Tokens } from "./helpers/ingest-fixture.js";
import { influxReadBack } from "./helpers/influx-read-back.js";

function post(port: number, token: string, batch: Batch): Promise<{ status: number; body: string; retryAfter?: string }> {
  const body = Buffer.from(cborEncoder.encode(batch));
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, method: "POST", path: "/v1/batches", agent: false, headers: { "content-type": "application/cbor", authorization: `Bearer ${token}`, "content-length": body.length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), retryAfter: res.headers["retry-after"] as string | undefined }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe("graceful shutdown of the ingest service", () => {
  let influx: InfluxHandle;
  let tokens: Tokens;
  beforeAll(async () => {
    influx = await startInfluxDb();
    await influx.createDatabase("vw_shutdown");
    tokens = await makeTokens();
  });
  afterAll(async () => {
    await influx?.dispose();
  });

  it("finishes and acknowledges the write in flight before closing, and stores it", async () => {
    const writer = new InfluxV1Writer({ url: influx.url, database: "vw_shutdown", timeoutMs: 20_000, gzipThresholdBytes: 4096, maxLinesPerWrite: 5000 });
    const app = await build({ config: testConfig(tokens, { shutdown: { drainTimeoutMs: 20_000 } }), writer });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const port = (app.server.address() as { port: number }).port;
    const batch = makeBatch([teleRecord("drain", 1), teleRecord("drain", 2)]);
    const pid = influx.process.pid!;
    process.kill(pid, "SIGSTOP");
    let closed: Promise<void> | undefined;
    try {
      const inFlight = post(port, tokens.token, batch);
      for (let i = 0; i < 500 && app.ingest.slots.inFlight === 0; i += 1) await new Promise((r) => setTimeout(r, 10));
      expect(app.ingest.slots.inFlight).toBe(1);
      closed = app.close();
      process.kill(pid, "SIGCONT");
      const reply = await inFlight;
      expect(reply.status).toBe(200);
      expect(JSON.parse(reply.body)).toEqual({ id: batch.id, stored: batch.recs.map((r) => r.id), rejected: [] });
      await closed;
    } finally {
      process.kill(pid, "SIGCONT");
      await (closed ?? app.close());
      await writer.close();
    }
    expect((await influxReadBack(influx, "vw_shutdown", "vw_tele", "drain")).map((p) => p.fields.rid)).toEqual(batch.recs.map((r) => r.id));
    await expect(post(port, tokens.token, makeBatch([teleRecord("drain", 3)]))).rejects.toThrow();
  });
});
