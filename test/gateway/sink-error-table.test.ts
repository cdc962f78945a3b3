// Guards issue 14, finding 2 at its root: the sink's decisions come from ONE table over every error
// code the ingest service can answer, not from the HTTP status. Checks that the table covers exactly
// the catalogs' codes, agrees with the statuses the service sends them with, and with the README's
// table; that replies without a catalog code are never quarantined or split (but 413); the
// breaker's policy on sequences of replies; and how the poster reads the REAL service's replies.
import { readFileSync } from "node:fs";
import type { FastifyInstance } from "fastify";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContractErrorCode } from "../../protocol/errors.js";
import { IngestErrors } from "../../cloud/errors.js";
import { STORAGE_REJECTED_CODE } from "../../cloud/storage/writer.js";
import { build } from "../../cloud/app.js";
import { EmbeddedStore } from "../../cloud/storage/embedded-store.js";
import { SINK_ERROR_TABLE, batchAction, rejectionAction } from "../../gateway/sinks/error-table.js";
import { QuarantineBreaker } from "../../gateway/sinks/quarantine-breaker.js";
import { HttpPoster } from "../../gateway/sinks/http-post.js";
import { encodeBatch } from "../../gateway/sinks/batch-encoder.js";
import type { StoredRecord } from "../../gateway/buffer/record-buffer.js";
import { makeTokens, testConfig as ingestConfig, GW, SITE, type Tokens } from "../cloud/helpers/ingest-fixture.js";
import { encode, telemetry } from "./helpers/device-publisher.js";

describe("the error table", () => {
  it("maps every code of the contract, the ingest catalog and the storage to exactly one action, and no other code", () => {
    const codes = new Set<string>([...Object.values(ContractErrorCode), ...Object.values(IngestErrors).map((entry) => entry.code), STORAGE_REJECTED_CODE]);
    expect(Object.keys(SINK_ERROR_TABLE).sort()).toEqual([...codes].sort());
    for (const action of Object.values(SINK_ERROR_TABLE)) expect(["retry", "alarm", "split", "quarantine"]).toContain(action);
  });

  it("agrees with the statuses the ingest service answers each code with", () => {
    for (const entry of Object.values(IngestErrors)) {
      const action = SINK_ERROR_TABLE[entry.code];
      if (entry.statusCode === 503 || entry.statusCode === 429 || entry.statusCode === 500) expect([entry.code, action]).toEqual([entry.code, "retry"]);
      else if (entry.statusCode === 413) expect([entry.code, action]).toEqual([entry.code, "split"]);
      // a whole-batch 4xx never quarantines: the reply names no record
      else expect([entry.code, batchAction(entry.statusCode, entry.code)]).toEqual([entry.code, "alarm"]);
    }
  });

  it("is the table the README shows", () => {
    const readme = readFileSync("gateway/README.md", "utf8");
    const rows = [...readme.matchAll(/^\| `(VW_[A-Z_]+)` \|[^|]*\| (retry|alarm|split|quarantine) \|/gm)].map((match) => [match[1], match[2]]);
    expect(Object.fromEntries(rows)).toEqual(SINK_ERROR_TABLE);
    expect(rows.length).toBe(Object.keys(SINK_ERROR_TABLE).length);
  });

  it("never quarantines or splits on a whole-batch reply without a catalog code, except 413", () => {
    expect(batchAction(400, undefined)).toBe("alarm"); // a proxy's HTML 400
    expect(batchAction(422, undefined)).toBe("alarm");
    expect(batchAction(404, "FST_ERR_SOMETHING")).toBe("alarm");
    expect(batchAction(502, undefined)).toBe("retry"); // a load balancer without backends
    expect(batchAction(503, "STAND_IN_FAULT")).toBe("retry");
    expect(batchAction(429, undefined)).toBe("retry");
    expect(batchAction(413, undefined)).toBe("split");
    // a record-level code on a whole-batch reply is about the envelope
    expect(batchAction(400, "VW_SCHEMA")).toBe("alarm");
    expect(batchAction(400, "VW_UNKNOWN_VERSION")).toBe("alarm");
    expect(batchAction(400, "VW_OVERSIZE")).toBe("split");
  });

  it("quarantines only records rejected with a record-level code (or one of no catalog), and holds the rest", () => {
    expect(rejectionAction("VW_SCHEMA")).toBe("quarantine");
    expect(rejectionAction("VW_DEVICE_MISMATCH")).toBe("quarantine");
    expect(rejectionAction("VW_STORAGE_REJECTED")).toBe("quarantine");
    expect(rejectionAction("VW_SOME_FUTURE_CODE")).toBe("quarantine");
    expect(rejectionAction("VW_UNKNOWN_VERSION")).toBe("hold");
    expect(rejectionAction("VW_STORAGE_UNAVAILABLE")).toBe("hold");
  });
});

describe("the quarantine breaker", () => {
  function breaker(threshold = 10) {
    const changes: boolean[] = [];
    return { breaker: new QuarantineBreaker(threshold, (open) => changes.push(open)), changes };
  }

  it("never trips on scattered refusals among stored records", () => {
    const { breaker: b, changes } = breaker();
    for (let i = 0; i < 1000; i++) expect(b.observe(i % 3 === 0 ? 1 : 90, i % 3 === 0 ? 1 : 10)).toBe("quarantine");
    expect(changes).toEqual([]);
  });

  it("trips before quarantining the first whole batch refused, with a backlog", () => {
    const { breaker: b, changes } = breaker();
    expect(b.observe(0, 100)).toBe("hold");
    expect(changes).toEqual([true]);
  });

  it("quarantines at most threshold - 1 records of a trickle of single refusals, then holds", () => {
    const { breaker: b } = breaker();
    const verdicts = Array.from({ length: 15 }, () => b.observe(0, 1));
    expect(verdicts.filter((v) => v === "quarantine").length).toBe(9);
    expect(verdicts.slice(9).every((v) => v === "hold")).toBe(true);
  });

  it("counts a reply refusing more than it stores (a gateway status stored among refused telemetry) into the streak", () => {
    const { breaker: b } = breaker();
    expect(b.observe(3, 97)).toBe("hold");
  });

  it("stays open while probes are refused and closes on the first reply that stores at least as much as it refuses", () => {
    const { breaker: b, changes } = breaker();
    b.observe(0, 50);
    expect(b.observe(2, 98)).toBe("hold");
    expect(b.observe(0, 0)).toBe("hold"); // nothing answered: nothing learned
    expect(b.observe(100, 0)).toBe("quarantine");
    expect(b.open).toBe(false);
    expect(b.observe(0, 5)).toBe("quarantine"); // a new streak starts from zero
    expect(changes).toEqual([true, false]);
  });
});

describe("the poster reads the real ingest service's replies by their code", () => {
  let tokens: Tokens;
  let store: EmbeddedStore;
  let app: FastifyInstance;
  let url: string;
  beforeAll(async () => {
    tokens = await makeTokens();
    store = new EmbeddedStore({ path: ":memory:" });
    app = await build({ config: ingestConfig(tokens, { bodyLimitBytes: 4096 }), writer: store });
    await app.listen({ port: 0, host: "127.0.0.1" });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/batches`;
  });
  afterAll(async () => {
    await app?.close();
    await store?.close();
  });

  const records = (count: number): StoredRecord[] =>
    Array.from({ length: count }, (_, i) => ({ id: i + 1, ts: Date.now() * 1000 + i, kind: "tele", device: "pump-01", body: encode(telemetry("pump-01", 1, i)) }));
  const body = (count: number) => encodeBatch({ gateway: GW, site: SITE, id: "b-1" }, records(count));
  const poster = (token: string) => new HttpPoster({ url, token, timeoutMs: 5000, gzipMinBytes: 1 << 30, maxInFlight: 1 });

  it("a wrong token is an alarm named by its code, a body over the limit splits, a good batch is a reply", async () => {
    expect(await poster(`${GW}.${"x".repeat(43)}`).post(body(1))).toMatchObject({ kind: "retry", action: "alarm", refusal: "VW_BAD_TOKEN", error: "http_401_403" });
    expect(await poster(tokens.otherToken).post(body(1))).toMatchObject({ kind: "retry", action: "alarm", refusal: "VW_GATEWAY_MISMATCH" });
    expect(await poster(tokens.token).post(body(100))).toMatchObject({ kind: "split", refusal: "VW_BODY_TOO_LARGE" });
    expect(await poster(tokens.token).post(body(2))).toMatchObject({ kind: "reply", reply: { stored: [1, 2], rejected: [] } });
  });
});
