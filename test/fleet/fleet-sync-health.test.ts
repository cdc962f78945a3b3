// The gateway's fleet sync reports each device's health figures for the rollout gate: the FIFO
// overruns of its status and the mean anomaly score of the telemetry the gateway committed since
// the last sync (taken from the intake's own decode: no second subscription to every message).
// Real Mosquitto, a real in-process gateway and fleet service (SQLite); the device is an MQTT
// client publishing the protocol's example payloads.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildFleetApp, type FleetApp } from "../../cloud/fleet/app.js";
import { loadFleetConfig } from "../../cloud/fleet/load-config.js";
import { FleetClient } from "../../cloud/fleet/fleet-client.js";
import { generateToken, hashToken } from "../../cloud/auth/token-hash.js";
import { cborEncoder } from "../../protocol/schema/validate.js";
import { sampleStatus, sampleTelemetry } from "../../protocol/examples.js";
import { deviceTopic } from "../../protocol/topics.js";
import type { Gateway } from "../../gateway/gateway.js";
import { startMosquitto, type MosquittoHandle } from "../helpers/mosquitto.js";
import { startGateway, testConfig } from "../gateway/helpers/gateway-fixture.js";
import { waitFor } from "../firmware-net/device-harness.js";

const SITE = "site-a";
const dir = mkdtempSync(join(tmpdir(), "vw-fleet-health-"));
let broker: MosquittoHandle;
let fleet: FleetApp;
let gateway: Gateway;
let api: FleetClient;

beforeAll(async () => {
  broker = await startMosquitto();
  const operatorToken = generateToken("ops");
  const gatewayToken = generateToken("gw-test");
  writeFileSync(join(dir, "gw.token"), gatewayToken);
  writeFileSync(join(dir, "fleet.json"), JSON.stringify({
    storage: { type: "sqlite", path: join(dir, "fleet.sqlite") },
    logLevel: "error",
    operators: [{ id: "ops", role: "read", tokenHash: await hashToken(operatorToken, "sha256") }],
    gateways: [{ id: "gw-test", site: SITE, tokenHash: await hashToken(gatewayToken, "sha256") }],
  }));
  fleet = await buildFleetApp({ config: loadFleetConfig(join(dir, "fleet.json")) });
  const url = await fleet.listen({ host: "127.0.0.1", port: 0 });
  api = new FleetClient(url, operatorToken);
  gateway = await startGateway(testConfig({ mqttUrl: broker.url, sinkUrl: "http://127.0.0.1:9/v1/batches", dir, overrides: { fleet: { url, tokenFile: join(dir, "gw.token"), syncIntervalMs: 200 } } }));
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await fleet?.close();
  await broker?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

it("reports the device's FIFO overruns and the mean anomaly score of its committed telemetry", async () => {
  const device = sampleStatus.d;
  const client = await mqtt.connectAsync(broker.url, { clientId: "health-device" });
  await client.publishAsync(deviceTopic(SITE, device, "status"), cborEncoder.encode({ ...sampleStatus, ov: 4 }) as Buffer, { qos: 1, retain: true });
  await waitFor("the device in the inventory", async () => (await api.devices(SITE)).devices.some((d) => d.device === device), 20_000);
  for (const [s, n] of [[10, 200], [11, 300], [12, null]] as const) {
    await client.publishAsync(deviceTopic(SITE, device, "tele"), cborEncoder.encode({ ...sampleTelemetry, d: device, b: sampleStatus.b, s, n }) as Buffer, { qos: 1 });
  }
  const reported = await waitFor("the anomaly mean in the inventory", async () => (await api.devices(SITE)).devices.find((d) => d.device === device && d.anomalyMean !== undefined), 20_000);
  // 2.00 and 3.00 (scores are centi on the wire); the window still learning (null) is not a score
  expect(reported).toMatchObject({ overruns: 4, anomalyMean: 2.5 });
  await client.endAsync();
}, 60_000);
