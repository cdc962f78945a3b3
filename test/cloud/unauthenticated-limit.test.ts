// Issue 14, finding 5: requests that fail authentication are budgeted per remote address (429 with
// Retry-After beyond it), in a bounded table that counts what it forgets; a gateway whose token
// verifies is never limited, even from the same address.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { build } from "../../cloud/app.js";
import { UnauthenticatedLimit } from "../../cloud/auth/unauthenticated-limit.js";
import { EmbeddedStore } from "../../cloud/storage/embedded-store.js";
import type { BatchReply, ErrorReply } from "../../protocol/batch.js";
import { GW, makeBatch, makeTokens, postBatch, teleRecord, testConfig, type Tokens } from "./helpers/ingest-fixture.js";

const MAX_FAILURES = 3;

describe("per-address limit of unauthenticated requests (issue 14)", () => {
  let tokens: Tokens;
  let app: FastifyInstance;
  let store: EmbeddedStore;
  beforeAll(async () => {
    tokens = await makeTokens();
    store = new EmbeddedStore({ path: ":memory:" });
    app = await build({ config: testConfig(tokens, { unauthenticated: { maxRequests: MAX_FAILURES, windowMs: 60_000 } }), writer: store });
  });
  afterAll(async () => {
    await app?.close();
    store?.close();
  });

  it("answers 429 VW_AUTH_RATE_LIMITED with Retry-After once an address is over its budget; the gateway with a valid token still gets through", async () => {
    const batch = makeBatch([teleRecord("unauth", 1)]);
    const attempts: { status: number; code: string }[] = [];
    for (const token of [null, "garbage", `${GW}.not-the-secret`, null, "garbage"]) {
      const response = await postBatch(app, batch, { token });
      attempts.push({ status: response.statusCode, code: (JSON.parse(response.body) as ErrorReply).code });
      if (response.statusCode === 429) {
        expect(Number(response.headers["retry-after"])).toBeGreaterThan(0);
        expect(JSON.parse(response.body)).toMatchObject({ statusCode: 429, error: "Too Many Requests" });
      }
    }
    expect(attempts).toEqual([
      { status: 401, code: "VW_MISSING_TOKEN" },
      { status: 401, code: "VW_BAD_TOKEN" },
      { status: 401, code: "VW_BAD_TOKEN" },
      { status: 429, code: "VW_AUTH_RATE_LIMITED" },
      { status: 429, code: "VW_AUTH_RATE_LIMITED" },
    ]);
    // same address (inject's 127.0.0.1), valid token
    const ok = await postBatch(app, batch, { token: tokens.token });
    expect(ok.statusCode).toBe(200);
    expect((JSON.parse(ok.body) as BatchReply).stored).toEqual([batch.recs[0]!.id]);
  });

  it("keeps its table bounded, forgetting the least recently seen address and counting it", () => {
    let nowMs = 0;
    let forgotten = 0;
    const limit = new UnauthenticatedLimit({ maxRequests: 1, windowMs: 1000, maxAddresses: 2, now: () => nowMs, onForget: () => (forgotten += 1) });
    expect(limit.fail("10.0.0.1")).toBeUndefined();
    expect(limit.fail("10.0.0.1")).toBe(1);
    expect(limit.fail("10.0.0.2")).toBeUndefined();
    // a third address pushes out the least recently seen (10.0.0.1)
    expect(limit.fail("10.0.0.3")).toBeUndefined();
    expect(limit.size).toBe(2);
    expect(limit.forgotten).toBe(1);
    expect(forgotten).toBe(1);
    expect(limit.fail("10.0.0.1")).toBeUndefined();
    // a new window starts a new budget
    nowMs = 1000;
    expect(limit.fail("10.0.0.1")).toBeUndefined();
  });
});
