// Issue 7, ingest side: the real ingest service (cloud/app.ts build()) over real sockets with the
// certificates and token `vibewatch pki` makes. Guards against: plain HTTP being served when TLS
// is required, client certificates from another CA (or none, or expired) being accepted, and
// bearer tokens reaching the logs on any path (success, wrong token, another gateway's token).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { build } from "../../cloud/app.js";
import { parseConfig } from "../../cloud/config/load.js";
import { createGatewayToken } from "../../pki/token.js";
import { sampleTelemetry } from "../../protocol/examples.js";
import type { Batch } from "../../protocol/batch.js";
import { createTestFleetPki, GATEWAY_ID, SITE, type TestFleetPki } from "./helpers/test-fleet-pki.js";
import { post } from "./helpers/https-post.js";

let pki: TestFleetPki;
let app: FastifyInstance;
let port: number;
let token: string;
let otherToken: string;
let logText = "";

beforeAll(async () => {
  pki = await createTestFleetPki();
  await createGatewayToken(pki.layout, GATEWAY_ID);
  await createGatewayToken(pki.layout, "gw2");
  token = readFileSync(pki.layout.token(GATEWAY_ID).secret, "utf8").trim();
  otherToken = readFileSync(pki.layout.token("gw2").secret, "utf8").trim();
  const hashOf = (gateway: string) => /tokenHash: "([^"]+)"/.exec(readFileSync(pki.layout.token(gateway).hash, "utf8"))![1]!;
  const config = parseConfig({
    listen: { host: "127.0.0.1", port: 0 },
    gateways: [
      { id: GATEWAY_ID, tokenHash: hashOf(GATEWAY_ID) },
      { id: "gw2", tokenHash: hashOf("gw2") },
    ],
    storage: { type: "embedded", path: join(pki.root, "ingest.sqlite") },
    tls: { certFile: pki.ingest.files.chain, keyFile: pki.ingest.files.key, caFile: pki.layout.caCert, requireClientCert: true },
    // the most talkative level: whatever could leak, would
    log: { level: "trace" },
  });
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logText += chunk.toString("utf8");
      done();
    },
  });
  app = await build({ config, logStream });
  await app.listen({ host: "127.0.0.1", port: 0 });
  port = (app.server.address() as AddressInfo).port;
});

afterAll(async () => {
  await app?.close();
  pki?.dispose();
});

let nextRecordId = 1;
function batchBody(): string {
  const id = nextRecordId++;
  const batch: Batch = {
    v: 1,
    gw: GATEWAY_ID,
    site: SITE,
    id: `${GATEWAY_ID}-${id}`,
    recs: [{ id, ts: 1_764_331_200_000_000 + id, k: "tele", d: "dev-a", p: { ...sampleTelemetry, d: "dev-a" } }],
  };
  return JSON.stringify(batch);
}

const gatewayIdentity = () => ({ ca: pki.layout.caCert, cert: pki.gateway.files.chain, key: pki.gateway.files.key });
const url = (scheme: "http" | "https") => `${scheme}://127.0.0.1:${port}/v1/batches`;

/**
 * Posts with this identity and expects no HTTP reply; returns the client's error. Node's TLS server
 * checks a presented client certificate after the handshake and drops the connection without an
 * alert, so a bad certificate shows as a hang-up; the control test (same request, fleet
 * certificate, 200) is what ties the refusal to the certificate.
 */
async function tlsRefusal(identity: { cert?: string; key?: string }): Promise<string> {
  try {
    const reply = await post(url("https"), { ca: pki.layout.caCert, ...identity, headers: { authorization: `Bearer ${token}` }, body: batchBody() });
    return expect.fail(`the ingest service answered HTTP ${reply.status} instead of refusing the TLS handshake`);
  } catch (error) {
    return (error as Error).message;
  }
}

const DROPPED = /socket hang up|ECONNRESET|EPIPE/i;

describe("ingest service with TLS and required client certificates", () => {
  it("stores a batch from a gateway with a fleet certificate and its token (control)", async () => {
    const reply = await post(url("https"), { ...gatewayIdentity(), headers: { authorization: `Bearer ${token}` }, body: batchBody() });
    expect(reply.status, reply.body).toBe(200);
    expect(JSON.parse(reply.body)).toMatchObject({ stored: [expect.any(Number)], rejected: [] });
  });

  it("refuses plain HTTP on the TLS port: no HTTP reply at all", async () => {
    await expect(post(url("http"), { headers: { authorization: `Bearer ${token}` }, body: batchBody() })).rejects.toThrow(/socket hang up|ECONNRESET|EPIPE|Parse Error/i);
  });

  it("refuses a client without a certificate", async () => {
    expect(await tlsRefusal({})).toMatch(/certificate required/i);
  });

  it("refuses a client certificate from another CA, even one naming a real device", async () => {
    expect(await tlsRefusal({ cert: pki.rogue.files.chain, key: pki.rogue.files.key })).toMatch(DROPPED);
  });

  it("refuses an expired client certificate", async () => {
    expect(await tlsRefusal({ cert: pki.expired.files.cert, key: pki.expired.files.key })).toMatch(DROPPED);
  });

  it("still wants the bearer token behind mTLS: a wrong or another gateway's token is refused", async () => {
    const wrong = await post(url("https"), { ...gatewayIdentity(), headers: { authorization: `Bearer ${GATEWAY_ID}.not-the-secret-${"x".repeat(30)}` }, body: batchBody() });
    expect(wrong.status).toBe(401);
    const other = await post(url("https"), { ...gatewayIdentity(), headers: { authorization: `Bearer ${otherToken}` }, body: batchBody() });
    expect(other.status).toBe(403);
    const none = await post(url("https"), { ...gatewayIdentity(), body: batchBody() });
    expect(none.status).toBe(401);
  });

  it("never writes a token to the logs (captured pino output at trace level)", () => {
    // control: the requests above were logged, so the search below searched something
    expect(logText).toContain("/v1/batches");
    expect(logText).toMatch(/"statusCode":401/);
    for (const secret of [token, otherToken]) {
      expect(logText).not.toContain(secret);
      expect(logText).not.toContain(secret.split(".")[1]!);
    }
    expect(logText).not.toContain("not-the-secret");
  });
});

describe("revocation and the gateway's own client certificate", () => {
  let crlApp: FastifyInstance;
  let crlPort: number;

  beforeAll(async () => {
    // a second service that also checks the fleet CRL (dev-revoked is revoked in it)
    const config = parseConfig({
      listen: { host: "127.0.0.1", port: 0 },
      gateways: [{ id: GATEWAY_ID, tokenHash: /tokenHash: "([^"]+)"/.exec(readFileSync(pki.layout.token(GATEWAY_ID).hash, "utf8"))![1]! }],
      storage: { type: "embedded", path: join(pki.root, "ingest-crl.sqlite") },
      tls: { certFile: pki.ingest.files.chain, keyFile: pki.ingest.files.key, caFile: pki.layout.caCert, crlFile: pki.layout.crl, requireClientCert: true },
      log: { level: "silent" },
    });
    crlApp = await build({ config });
    await crlApp.listen({ host: "127.0.0.1", port: 0 });
    crlPort = (crlApp.server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await crlApp?.close();
  });

  const crlUrl = () => `https://127.0.0.1:${crlPort}/v1/batches`;

  it("accepts the revoked certificate where no CRL is configured (control: the CRL is what refuses it)", async () => {
    const reply = await post(url("https"), { ca: pki.layout.caCert, cert: pki.revoked.cert, key: pki.revoked.key, headers: { authorization: `Bearer ${token}` }, body: batchBody() });
    expect(reply.status).toBe(200);
  });

  it("refuses a revoked client certificate when tls.crlFile is set, and still serves the others", async () => {
    const revoked = post(crlUrl(), { ca: pki.layout.caCert, cert: pki.revoked.cert, key: pki.revoked.key, headers: { authorization: `Bearer ${token}` }, body: batchBody() });
    await expect(revoked).rejects.toThrow(DROPPED);
    const good = await post(crlUrl(), { ...gatewayIdentity(), headers: { authorization: `Bearer ${token}` }, body: batchBody() });
    expect(good.status, good.body).toBe(200);
  });

  it("lets the gateway's sink present its certificate (sink.certFile/keyFile) and is refused without it", async () => {
    const { HttpPoster } = await import("../../gateway/sinks/http-post.js");
    const { cborEncoder } = await import("../../protocol/schema/validate.js");
    const body = Buffer.from(cborEncoder.encode(JSON.parse(batchBody())));
    const options = { url: crlUrl(), token, caFile: pki.layout.caCert, timeoutMs: 5000, gzipMinBytes: 1 << 20, maxInFlight: 1 };
    const withCert = new HttpPoster({ ...options, certFile: pki.gateway.files.chain, keyFile: pki.gateway.files.key });
    expect(await withCert.post(body)).toMatchObject({ kind: "reply", reply: { stored: [expect.any(Number)], rejected: [] } });
    const withoutCert = new HttpPoster(options);
    expect((await withoutCert.post(body)).kind).toBe("retry");
    expect(() => new HttpPoster({ ...options, certFile: pki.gateway.files.chain })).toThrow(/certFile and sink.keyFile go together/);
  });
});
