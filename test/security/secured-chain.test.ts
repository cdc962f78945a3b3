// Issue 7, the whole secured path with real parts: a device with its fleet certificate -> the
// production Mosquitto (mTLS + ACL) -> the real gateway (gateway/gateway.ts) with its own
// certificate -> the real ingest service over HTTPS, CA pinned, with the token `pki token` made.
// Guards against: a gateway that cannot use its certificate or the pinned CA, a spoofed device
// message that slips through the chain, and the bearer token reaching the gateway's logs.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import type { MqttClient } from "mqtt";
import { build } from "../../cloud/app.js";
import { parseConfig } from "../../cloud/config/load.js";
import { EmbeddedStore } from "../../cloud/storage/embedded-store.js";
import { Gateway } from "../../gateway/gateway.js";
import { readToken, validateConfig } from "../../gateway/config/load-config.js";
import { createLogger } from "../../gateway/logger.js";
import { createGatewayToken } from "../../pki/token.js";
import { sampleTelemetry } from "../../protocol/examples.js";
import { cborEncoder } from "../../protocol/schema/validate.js";
import { deviceTopic } from "../../protocol/topics.js";
import { createTestFleetPki, GATEWAY_ID, SITE, type TestFleetPki } from "./helpers/test-fleet-pki.js";
import { startProductionBroker, type ProductionBroker } from "./helpers/production-broker.js";
import { connectOrThrow, endAll } from "./helpers/tls-mqtt-client.js";
import { anyTestFailed } from "../helpers/failure-flag.js";

let pki: TestFleetPki;
let production: ProductionBroker;
let store: EmbeddedStore;
let ingest: FastifyInstance;
let gateway: Gateway;
let device: MqttClient;
let token: string;
let gatewayLog = "";
let workDir: string;

beforeAll(async () => {
  pki = await createTestFleetPki();
  workDir = mkdtempSync(join(tmpdir(), "vw-test-secured-chain-"));
  production = await startProductionBroker(pki);

  const created = await createGatewayToken(pki.layout, GATEWAY_ID);
  const tokenHash = created.tokenHash;
  store = new EmbeddedStore({ path: join(workDir, "ingest.sqlite") });
  const ingestConfig = parseConfig({
    listen: { host: "127.0.0.1", port: 0 },
    gateways: [{ id: GATEWAY_ID, tokenHash }],
    tls: { certFile: pki.ingest.files.chain, keyFile: pki.ingest.files.key },
    log: { level: "warn" },
  });
  ingest = await build({ config: ingestConfig, writer: store, logStream: new Writable({ write: (_c, _e, done) => done() }) });
  await ingest.listen({ host: "127.0.0.1", port: 0 });
  const ingestPort = (ingest.server.address() as AddressInfo).port;

  const config = validateConfig(
    {
      gatewayId: GATEWAY_ID,
      site: SITE,
      mqtt: {
        url: `mqtts://127.0.0.1:${production.broker.port}`,
        sites: [SITE],
        caFile: pki.layout.caCert,
        certFile: pki.gateway.files.chain,
        keyFile: pki.gateway.files.key,
      },
      sink: { url: `https://127.0.0.1:${ingestPort}/v1/batches`, caFile: pki.layout.caCert, tokenFile: created.tokenFile! },
      buffer: { path: join(workDir, "gateway.db") },
      http: { port: 0 },
      logLevel: "trace",
    },
    "secured-chain test",
  );
  token = readToken(config, {})!;
  expect(token).toBe(readFileSync(created.tokenFile!, "utf8").trim());
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      gatewayLog += chunk.toString("utf8");
      done();
    },
  });
  gateway = await Gateway.start(config, { token, log: createLogger("trace", logStream), processMetrics: false });
  device = await connectOrThrow(production.broker.port, pki.layout.caCert, { cert: pki.deviceA.files.chain, key: pki.deviceA.files.key }, { protocolVersion: 4, clean: false, clientId: "dev-a" });
});

afterAll(async () => {
  await endAll([device]);
  await gateway?.stop();
  await ingest?.close();
  await store?.close();
  await production?.dispose();
  pki?.dispose();
  if (workDir && !anyTestFailed()) rmSync(workDir, { recursive: true, force: true });
});

function telemetry(deviceId: string, seq: number): Buffer {
  return Buffer.from(cborEncoder.encode({ ...sampleTelemetry, d: deviceId, s: seq }));
}

/** Waits until the ingest store holds a point matching `match`; bounded by the test timeout. */
async function storedPoint(deviceId: string, seq: number): Promise<void> {
  while (!store.readPoints("vw_tele", deviceId).some((p) => p.fields.seq === seq)) await new Promise((resolve) => setTimeout(resolve, 25));
}

describe("secured chain: device -> broker -> gateway -> ingest", () => {
  it("carries a device's telemetry end to end over TLS, authenticated at every hop", async () => {
    await device.publishAsync(deviceTopic(SITE, "dev-a", "tele"), telemetry("dev-a", 1), { qos: 1 });
    await storedPoint("dev-a", 1);
    const [point] = store.readPoints("vw_tele", "dev-a");
    expect(point).toMatchObject({ site: SITE, gateway: GATEWAY_ID, device: "dev-a" });
  });

  it("never stores a message a device published under another device's identity", async () => {
    // the payload names dev-b consistently with the topic: only the broker's ACL can stop it
    await device.publishAsync(deviceTopic(SITE, "dev-b", "tele"), telemetry("dev-b", 7), { qos: 1 });
    await device.publishAsync(deviceTopic(SITE, "dev-a", "tele"), telemetry("dev-a", 2), { qos: 1 });
    await storedPoint("dev-a", 2);
    expect(store.readPoints("vw_tele", "dev-b")).toEqual([]);
  });

  it("keeps the bearer token out of the gateway's logs (trace level)", () => {
    expect(gatewayLog.length).toBeGreaterThan(0);
    expect(gatewayLog).not.toContain(token);
    expect(gatewayLog).not.toContain(token.split(".")[1]!);
  });
});
