// Issue 7: the gateway's HTTPS sink trusts only the fleet CA (sink.caFile), so an impostor
// ingest service with a certificate for the same address from another CA never receives a batch
// or the bearer token. Both servers are the real ingest service; only their certificates differ.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { build } from "../../cloud/app.js";
import { parseConfig } from "../../cloud/config/load.js";
import { EmbeddedStore } from "../../cloud/storage/embedded-store.js";
import { HttpPoster } from "../../gateway/sinks/http-post.js";
import { createGatewayToken } from "../../pki/token.js";
import { sampleTelemetry } from "../../protocol/examples.js";
import { cborEncoder } from "../../protocol/schema/validate.js";
import type { Batch } from "../../protocol/batch.js";
import type { IssuedCertificate } from "../../pki/issue.js";
import { createTestFleetPki, GATEWAY_ID, SITE, type TestFleetPki } from "./helpers/test-fleet-pki.js";

interface RunningIngest {
  app: FastifyInstance;
  store: EmbeddedStore;
  url: string;
  log: () => string;
}

let pki: TestFleetPki;
let genuine: RunningIngest;
let impostor: RunningIngest;
let token: string;

async function startIngest(server: IssuedCertificate, tokenHash: string, name: string): Promise<RunningIngest> {
  let log = "";
  const store = new EmbeddedStore({ path: join(pki.root, `${name}.sqlite`) });
  const config = parseConfig({
    listen: { host: "127.0.0.1", port: 0 },
    gateways: [{ id: GATEWAY_ID, tokenHash }],
    tls: { certFile: server.files.chain, keyFile: server.files.key },
    log: { level: "info" },
  });
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      log += chunk.toString("utf8");
      done();
    },
  });
  const app = await build({ config, writer: store, logStream });
  await app.listen({ host: "127.0.0.1", port: 0 });
  return { app, store, url: `https://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/batches`, log: () => log };
}

beforeAll(async () => {
  pki = await createTestFleetPki();
  const created = await createGatewayToken(pki.layout, GATEWAY_ID, { takeToken: (t) => (token = t) });
  genuine = await startIngest(pki.ingest, created.tokenHash, "genuine");
  // the impostor even knows the right hash: only the certificate check can stop the gateway
  impostor = await startIngest(pki.rogueServer, created.tokenHash, "impostor");
});

afterAll(async () => {
  for (const ingest of [genuine, impostor]) {
    await ingest?.app.close();
    await ingest?.store.close();
  }
  pki?.dispose();
});

function batchBytes(seq: number): Buffer {
  const batch: Batch = {
    v: 1,
    gw: GATEWAY_ID,
    site: SITE,
    id: `${GATEWAY_ID}-pin-${seq}`,
    recs: [{ id: seq, ts: 1_764_331_200_000_000 + seq, k: "tele", d: "dev-a", p: { ...sampleTelemetry, d: "dev-a", s: seq } }],
  };
  return Buffer.from(cborEncoder.encode(batch));
}

function poster(url: string): HttpPoster {
  return new HttpPoster({ url, token, caFile: pki.layout.caCert, timeoutMs: 10_000, gzipMinBytes: 1 << 20, maxInFlight: 1 });
}

describe("gateway sink pins the fleet CA", () => {
  it("delivers to the ingest service whose certificate the fleet CA signed (control)", async () => {
    const sink = poster(genuine.url);
    try {
      const outcome = await sink.post(batchBytes(1));
      expect(outcome).toMatchObject({ kind: "reply", reply: { stored: [1], rejected: [] } });
    } finally {
      sink.close();
    }
  });

  it("refuses an impostor with another CA's certificate for the same address: no batch, no token", async () => {
    const sink = poster(impostor.url);
    try {
      const outcome = await sink.post(batchBytes(2));
      expect(outcome.kind).toBe("retry");
      expect(outcome.kind === "retry" ? outcome.detail : "").toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT|SELF_SIGNED|CERT/i);
    } finally {
      sink.close();
    }
    expect(impostor.store.readPoints("vw_tele")).toEqual([]);
    // the TLS handshake failed before any HTTP request reached the impostor
    expect(impostor.log()).not.toContain("/v1/batches");
  });
});
