// Memory over its limit: @fastify/under-pressure refuses batches with 503 VW_UNDER_PRESSURE and
// Retry-After (nothing stored), while /healthz and /metrics keep answering.
import { describe, expect, it } from "vitest";
import { build } from "../../cloud/app.js";
import { EmbeddedStore } from "../../cloud/storage/embedded-store.js";
import type { ErrorReply } from "../../protocol/batch.js";
import { makeBatch, makeTokens, postBatch, teleRecord, testConfig } from "./helpers/ingest-fixture.js";

describe("under pressure", () => {
  it("answers 503 with Retry-After to batches when the heap is over its limit, and stays observable", async () => {
    const tokens = await makeTokens();
    const store = new EmbeddedStore({ path: ":memory:" });
    // a 1-byte heap limit: always over it once under-pressure has taken its first sample
    const app = await build({ config: testConfig(tokens, { pressure: { maxEventLoopDelayMs: 0, maxHeapUsedBytes: 1 }, writes: { retryAfterS: 9 } }), writer: store });
    try {
      let refused: Awaited<ReturnType<typeof postBatch>> | undefined;
      let refusedId = 0;
      for (let attempt = 0; attempt < 100 && !refused; attempt += 1) {
        const batch = makeBatch([teleRecord("pressure", attempt)]);
        const response = await postBatch(app, batch, { token: tokens.token });
        if (response.statusCode === 503) {
          refused = response;
          refusedId = batch.recs[0]!.id;
        }
        else await new Promise((r) => setTimeout(r, 50));
      }
      expect(refused?.statusCode).toBe(503);
      expect(refused!.headers["retry-after"]).toBe("9");
      expect((JSON.parse(refused!.body) as ErrorReply).code).toBe("VW_UNDER_PRESSURE");
      expect(store.readPoints("vw_tele", "pressure").map((p) => p.fields.rid)).not.toContain(refusedId);
      expect((await app.inject({ url: "/healthz" })).statusCode).toBe(200);
      const metrics = await app.inject({ url: "/metrics" });
      expect(metrics.statusCode).toBe(200);
      expect(metrics.body).toMatch(/vw_ingest_requests_refused_total\{code="VW_UNDER_PRESSURE"\} [1-9]/);
    } finally {
      await app.close();
      await store.close();
    }
  });
});
