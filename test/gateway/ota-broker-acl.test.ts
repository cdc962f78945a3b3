// Issue 15, point 5: on the production broker (manifests/mosquitto/mosquitto.conf + acl + the
// block `pki issue-gateway` prints) a device asks for chunks only as itself (…/<own id>/otareq)
// and reads only its own offer and chunks; only the gateway writes …/ota and …/otadata. Guards
// against a device forging an offer, feeding or reading another device's download.
// "Not delivered" is proven with a marker (as in test/security/broker-topic-acl.test.ts): the
// same publisher sends a permitted message after the refused one on the same QoS 1 path.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MqttClient } from "mqtt";
import { createTestFleetPki, SITE, type TestFleetPki } from "../security/helpers/test-fleet-pki.js";
import { startProductionBroker, type ProductionBroker } from "../security/helpers/production-broker.js";
import { connectOrThrow, endAll, MessageCollector, subscribe } from "../security/helpers/tls-mqtt-client.js";
import { otaTopic } from "../../protocol/ota.js";
import type { IssuedCertificate } from "../../pki/issue.js";

let pki: TestFleetPki;
let production: ProductionBroker;
const clients: MqttClient[] = [];
const NOT_AUTHORIZED = 135;

beforeAll(async () => {
  pki = await createTestFleetPki();
  production = await startProductionBroker(pki);
}, 120_000);

afterAll(async () => {
  await endAll(clients);
  await production?.dispose();
  pki?.dispose();
});

async function connectAs(issued: IssuedCertificate): Promise<MqttClient> {
  const client = await connectOrThrow(production.broker.port, pki.layout.caCert, { cert: issued.files.chain, key: issued.files.key });
  clients.push(client);
  return client;
}

async function publishReason(client: MqttClient, topic: string, payload: string, retain = false): Promise<number> {
  try {
    const packet = await client.publishAsync(topic, payload, { qos: 1, retain });
    return (packet as { reasonCode?: number } | undefined)?.reasonCode ?? 0;
  } catch (error) {
    const code = (error as { code?: number }).code;
    if (typeof code === "number") return code;
    throw error;
  }
}

describe("production broker: OTA topics", () => {
  it("the gateway offers and serves a device; the device asks for chunks as itself", async () => {
    const gateway = await connectAs(pki.gateway);
    const atGateway = new MessageCollector(gateway);
    await subscribe(gateway, `vw/v1/${SITE}/+/otareq`);
    const device = await connectAs(pki.deviceA);
    const atDevice = new MessageCollector(device);
    await subscribe(device, otaTopic(SITE, "dev-a", "ota"));
    await subscribe(device, otaTopic(SITE, "dev-a", "otadata"));
    expect(await publishReason(gateway, otaTopic(SITE, "dev-a", "ota"), "offer-a", true)).toBe(0);
    await atDevice.waitFor(otaTopic(SITE, "dev-a", "ota"), "offer-a");
    expect(await publishReason(device, otaTopic(SITE, "dev-a", "otareq"), "req-a")).toBe(0);
    await atGateway.waitFor(otaTopic(SITE, "dev-a", "otareq"), "req-a");
    expect(await publishReason(gateway, otaTopic(SITE, "dev-a", "otadata"), "chunk-a")).toBe(0);
    await atDevice.waitFor(otaTopic(SITE, "dev-a", "otadata"), "chunk-a");
  });

  it("refuses a device forging an offer or a chunk, or asking as another device: nothing delivered", async () => {
    const gateway = await connectAs(pki.gateway);
    const atGateway = new MessageCollector(gateway);
    await subscribe(gateway, `vw/v1/${SITE}/+/#`);
    const deviceB = await connectAs(pki.deviceB);
    const atB = new MessageCollector(deviceB);
    await subscribe(deviceB, otaTopic(SITE, "dev-b", "ota"));
    await subscribe(deviceB, otaTopic(SITE, "dev-b", "otadata"));
    const deviceA = await connectAs(pki.deviceA);
    const forbidden = [otaTopic(SITE, "dev-b", "ota"), otaTopic(SITE, "dev-b", "otadata"), otaTopic(SITE, "dev-a", "ota"), otaTopic(SITE, "dev-a", "otadata"), otaTopic(SITE, "dev-b", "otareq")];
    for (const topic of forbidden) expect(await publishReason(deviceA, topic, "forged"), topic).toBe(NOT_AUTHORIZED);
    const marker = otaTopic(SITE, "dev-a", "otareq");
    await publishReason(deviceA, marker, "marker-after-forgery");
    await atGateway.waitFor(marker, "marker-after-forgery");
    // and the gateway's own publish to dev-b arrives there after anything dev-a could have sent
    await publishReason(gateway, otaTopic(SITE, "dev-b", "otadata"), "gateway-marker");
    await atB.waitFor(otaTopic(SITE, "dev-b", "otadata"), "gateway-marker");
    expect([...atGateway.messages, ...atB.messages].filter((m) => m.payload === "forged")).toEqual([]);
  });

  it("never delivers another device's offer or chunks to a device, even through a wildcard", async () => {
    const gateway = await connectAs(pki.gateway);
    expect(await publishReason(gateway, otaTopic(SITE, "dev-b", "ota"), "offer-b", true)).toBe(0);
    const deviceA = await connectAs(pki.deviceA);
    const atA = new MessageCollector(deviceA);
    await subscribe(deviceA, "vw/v1/+/+/ota");
    await subscribe(deviceA, "vw/v1/+/+/otadata");
    await subscribe(deviceA, "vw/v1/+/+/otareq");
    await publishReason(gateway, otaTopic(SITE, "dev-b", "otadata"), "chunk-b");
    await publishReason(gateway, otaTopic(SITE, "dev-a", "otadata"), "chunk-a-marker");
    await atA.waitFor(otaTopic(SITE, "dev-a", "otadata"), "chunk-a-marker");
    expect(atA.messages.filter((m) => m.topic.includes("/dev-b/"))).toEqual([]);
  });
});
