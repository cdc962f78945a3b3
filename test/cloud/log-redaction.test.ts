// Tokens and InfluxDB credentials never reach the logs, even at trace level and on auth failures.
import { describe, expect, it } from "vitest";
import { Writable } from "node:stream";
import { build } from "../../cloud/app.js";
import { EmbeddedStore } from "../../cloud/storage/embedded-store.js";
import { makeBatch, makeTokens, mixedBatch, postBatch, teleRecord, testConfig } from "./helpers/ingest-fixture.js";

describe("ingest logs", () => {
  it("never contain a bearer token or a storage password", async () => {
    const tokens = await makeTokens();
    let output = "";
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        output += chunk.toString();
        done();
      },
    });
    const store = new EmbeddedStore({ path: ":memory:" });
    const config = testConfig(tokens, { log: { level: "trace" } });
    const app = await build({ config, writer: store, logStream: stream });
    try {
      app.log.info({ config: { ...config, storage: { type: "influx-v1", password: "influx-pass-123" } }, authorization: `Bearer ${tokens.token}` }, "config loaded");
      expect((await postBatch(app, mixedBatch("logged"), { token: tokens.token })).statusCode).toBe(200);
      expect((await postBatch(app, makeBatch([teleRecord("logged", 1)]), { token: tokens.otherToken })).statusCode).toBe(403);
      expect((await postBatch(app, makeBatch([teleRecord("logged", 1)]), { token: `${tokens.token}x` })).statusCode).toBe(401);
      const bad = { ...makeBatch([teleRecord("logged", 1)]), recs: [{ id: 1 }] };
      expect((await postBatch(app, bad, { token: tokens.token })).statusCode).toBe(200);
    } finally {
      await app.close();
      await store.close();
    }
    expect(output).toContain("incoming request");
    expect(output).toContain("[redacted]");
    expect(output).not.toContain(tokens.token.split(".")[1]!);
    expect(output).not.toContain(tokens.otherToken.split(".")[1]!);
    expect(output).not.toContain("influx-pass-123");
  });
});
