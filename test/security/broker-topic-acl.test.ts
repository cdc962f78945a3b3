// Issue 7: on the production broker (manifests/mosquitto/mosquitto.conf + acl) a device publishes
// only as itself and reads only its own configuration; the gateway reads all device topics of its
// site and writes configuration. Guards against ACL patterns that let one device impersonate
// another (topic, Last Will or client id), rewrite configuration, or read another's config.
// "Not delivered" is proven with a marker: the same publisher sends a permitted message after the
// refused one on the same QoS 1 path; once the marker has arrived, the refused one would have too.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MqttClient } from "mqtt";
import { createTestFleetPki, SITE, type TestFleetPki } from "./helpers/test-fleet-pki.js";
import { startProductionBroker, type ProductionBroker } from "./helpers/production-broker.js";
import { connectOrThrow, endAll, MessageCollector, subscribe, tryConnect } from "./helpers/tls-mqtt-client.js";
import { deviceTopic, gatewayTopic } from "../../protocol/topics.js";
import type { IssuedCertificate } from "../../pki/issue.js";

let pki: TestFleetPki;
let production: ProductionBroker;
const clients: MqttClient[] = [];

beforeAll(async () => {
  pki = await createTestFleetPki();
  production = await startProductionBroker(pki);
});

afterAll(async () => {
  await endAll(clients);
  await production?.dispose();
  pki?.dispose();
});

async function connectAs(issued: IssuedCertificate, extra: Parameters<typeof connectOrThrow>[3] = {}): Promise<MqttClient> {
  const client = await connectOrThrow(production.broker.port, pki.layout.caCert, { cert: issued.files.chain, key: issued.files.key }, extra);
  clients.push(client);
  return client;
}

/** MQTT 5 PUBACK reason code of a QoS 1 publish (0 = accepted, 135 = not authorized). */
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

const NOT_AUTHORIZED = 135;

/** Polls a condition that an event (a broker log line) will make true; bounded by the test timeout. */
async function waitUntil(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe("production broker: topic ACL", () => {
  it("delivers a device's own telemetry, alert and status to the gateway", async () => {
    const gateway = await connectAs(pki.gateway);
    const received = new MessageCollector(gateway);
    expect(await subscribe(gateway, `vw/v1/${SITE}/+/#`)).toBe(1);
    const device = await connectAs(pki.deviceA);
    for (const kind of ["tele", "alert", "status"] as const) {
      const topic = deviceTopic(SITE, "dev-a", kind);
      expect(await publishReason(device, topic, `own-${kind}`)).toBe(0);
      await received.waitFor(topic, `own-${kind}`);
    }
  });

  it("refuses a device publishing under another device's topics: nothing reaches subscribers", async () => {
    const gateway = await connectAs(pki.gateway);
    const received = new MessageCollector(gateway);
    await subscribe(gateway, "vw/v1/+/#");
    const device = await connectAs(pki.deviceA);
    const forbidden = [
      deviceTopic(SITE, "dev-b", "tele"),
      deviceTopic(SITE, "dev-b", "alert"),
      deviceTopic(SITE, "dev-b", "status"),
      deviceTopic("other-site", "dev-b", "tele"),
      // a device may not rewrite configuration, not even its own
      deviceTopic(SITE, "dev-a", "cfg"),
      deviceTopic(SITE, "dev-b", "cfg"),
      gatewayTopic(SITE, "gw1", "alert"),
    ];
    for (const topic of forbidden) expect(await publishReason(device, topic, "spoofed"), topic).toBe(NOT_AUTHORIZED);
    const marker = deviceTopic(SITE, "dev-a", "tele");
    await publishReason(device, marker, "marker-after-spoof");
    await received.waitFor(marker, "marker-after-spoof");
    expect(received.messages.filter((m) => m.payload === "spoofed")).toEqual([]);
  });

  it("refuses a device subscribing to another device's config, and never delivers it", async () => {
    const gateway = await connectAs(pki.gateway);
    expect(await publishReason(gateway, deviceTopic(SITE, "dev-b", "cfg"), "retained-cfg-b", true)).toBe(0);
    expect(await publishReason(gateway, deviceTopic(SITE, "dev-a", "cfg"), "retained-cfg-a", true)).toBe(0);

    const device = await connectAs(pki.deviceA);
    const received = new MessageCollector(device);
    // Mosquitto 2.0's ACL file grants this SUBACK; what it must never do is deliver (checked below)
    await subscribe(device, deviceTopic(SITE, "dev-b", "cfg"));
    // a wildcard filter that matches every device's config must still yield only its own
    await subscribe(device, "vw/v1/+/+/cfg");
    await received.waitFor(deviceTopic(SITE, "dev-a", "cfg"), "retained-cfg-a");

    await publishReason(gateway, deviceTopic(SITE, "dev-b", "cfg"), "live-cfg-b");
    await publishReason(gateway, deviceTopic(SITE, "dev-a", "cfg"), "live-cfg-a");
    await received.waitFor(deviceTopic(SITE, "dev-a", "cfg"), "live-cfg-a");
    expect(received.messages.filter((m) => m.topic.includes("/dev-b/"))).toEqual([]);
  });

  it("never publishes a Last Will a device set on another device's status topic (no fake 'offline')", async () => {
    const gateway = await connectAs(pki.gateway);
    const received = new MessageCollector(gateway);
    await subscribe(gateway, `vw/v1/${SITE}/+/#`);
    const outcome = await tryConnect(
      production.broker.port,
      pki.layout.caCert,
      { cert: pki.deviceA.files.chain, key: pki.deviceA.files.key },
      { clientId: "dev-a", will: { topic: deviceTopic(SITE, "dev-b", "status"), payload: Buffer.from("fake-offline"), qos: 1, retain: true } },
    );
    if (!outcome.connected) {
      // a broker that refuses the CONNECT outright is just as good
      expect(outcome.error).toMatch(/not authori[sz]ed/i);
      return;
    }
    // an abrupt loss makes the broker send the Will (if the ACL allowed it) while it handles the
    // disconnect, before anything it processes afterwards
    const logBefore = production.log().length;
    outcome.client.stream.destroy();
    await waitUntil(() => /Client dev-a (closed its connection|disconnected)|Socket error on client dev-a/.test(production.log().slice(logBefore)));
    const marker = gatewayTopic(SITE, "gw1", "event");
    await publishReason(gateway, marker, "marker-after-will");
    await received.waitFor(marker, "marker-after-will");
    expect(received.messages.filter((m) => m.payload === "fake-offline")).toEqual([]);
  });

  it("keeps a device from taking over another device's session by reusing its client id", async () => {
    const gateway = await connectAs(pki.gateway);
    const deviceB = await connectAs(pki.deviceB, { clientId: "dev-b" });
    const kickedOff = new Promise<never>((_, reject) =>
      deviceB.once("close", () => reject(new Error("dev-b was disconnected: dev-a took over its session"))),
    );
    // the clients are closed after the test too: that later rejection is nobody's failure
    kickedOff.catch(() => undefined);
    const receivedByB = new MessageCollector(deviceB);
    await subscribe(deviceB, deviceTopic(SITE, "dev-b", "cfg"));
    // dev-a dials in claiming dev-b's client id; the broker replaces it with dev-a's own
    await connectAs(pki.deviceA, { clientId: "dev-b", clean: false });
    await publishReason(gateway, deviceTopic(SITE, "dev-b", "cfg"), "after-takeover-attempt");
    await Promise.race([receivedByB.waitFor(deviceTopic(SITE, "dev-b", "cfg"), "after-takeover-attempt"), kickedOff]);
    expect(deviceB.connected).toBe(true);
  });
});
