// Guards against a site that goes deaf when the cloud is away: device alerts must be republished
// on the local alert topic at once (cloud down), a device that stops sending or whose Last Will
// arrives is reported offline (and online again), and a flooding device is rate limited with an
// event instead of filling the buffer.
import { afterAll, beforeAll, expect, it } from "vitest";
import type { MqttClient } from "mqtt";
import { startMosquitto, type MosquittoHandle } from "../helpers/services.js";
import { FaultInjectingIngestStandIn } from "./helpers/fault-injecting-ingest-stand-in.js";
import { BROKER_TUNING, startGateway, testConfig } from "./helpers/gateway-fixture.js";
import { alert, connectClient, encode, publishQos1, telemetry, until } from "./helpers/device-publisher.js";
import { deviceTopic, gatewayTopic } from "../../protocol/topics.js";
import { cborDecoder } from "../../protocol/schema/validate.js";
import { sampleWill } from "../../protocol/examples.js";
import type { Gateway } from "../../gateway/gateway.js";

let broker: MosquittoHandle;
let standIn: FaultInjectingIngestStandIn;
let gateway: Gateway | undefined;
const clients: MqttClient[] = [];

beforeAll(async () => {
  broker = await startMosquitto({ extraConfig: BROKER_TUNING });
  standIn = await FaultInjectingIngestStandIn.start();
});

afterAll(async () => {
  await gateway?.stop();
  for (const client of clients) await client.endAsync(true);
  await standIn?.close();
  await broker?.dispose();
});

it("republishes alerts locally, reports offline/online devices and rate-limits a flood while the cloud is down", { timeout: 90_000 }, async () => {
  await standIn.refuse();
  gateway = await startGateway(
    testConfig({
      mqttUrl: broker.url,
      sinkUrl: standIn.url,
      overrides: { heartbeat: { intervalS: 1, missed: 2, checkMs: 200 }, limits: { ratePerS: 20, burst: 40 } },
    }),
  );
  const listener = await connectClient(broker.url, "hmi-listener", { clean: true });
  clients.push(listener);
  const local: Array<{ topic: string; value: Record<string, unknown> }> = [];
  listener.on("message", (topic, payload) => local.push({ topic, value: cborDecoder.decode(payload) as Record<string, unknown> }));
  await listener.subscribeAsync([gatewayTopic("site-a", "gw-test", "alert"), gatewayTopic("site-a", "gw-test", "event")], { qos: 1 });
  const device = await connectClient(broker.url, "dev-local");
  clients.push(device);

  // an alert reaches the local topic although the cloud is unreachable
  await publishQos1(device, deviceTopic("site-a", "valve-01", "alert"), encode(alert("valve-01", 1, 0)));
  expect(await until(() => local.some((m) => m.topic.endsWith("/alert") && m.value.d === "valve-01"), 10_000)).toBe(true);

  // silence for more than 2 x 1 s: offline; a message again: online
  expect(await until(() => local.some((m) => m.topic.endsWith("/event") && m.value.d === "valve-01" && m.value.e === "offline"), 10_000)).toBe(true);
  await publishQos1(device, deviceTopic("site-a", "valve-01", "tele"), encode(telemetry("valve-01", 1, 1)));
  expect(await until(() => local.some((m) => m.value.d === "valve-01" && m.value.e === "online"), 10_000)).toBe(true);

  // the Last Will marks a device offline at once
  await publishQos1(device, deviceTopic("site-a", "valve-02", "tele"), encode(telemetry("valve-02", 2, 0)));
  await publishQos1(device, deviceTopic("site-a", "valve-02", "status"), encode({ ...sampleWill, d: "valve-02", b: 2 }));
  expect(await until(() => local.some((m) => m.value.d === "valve-02" && m.value.e === "offline" && m.value.m === "last will"), 10_000)).toBe(true);

  // a flood of 400 messages from one device: the burst (40) passes, the excess is dropped and reported
  const flood = Array.from({ length: 400 }, (_, seq) => device.publishAsync(deviceTopic("site-a", "loop-01", "tele"), encode(telemetry("loop-01", 3, seq)), { qos: 1 }));
  await Promise.all(flood);
  expect(await until(() => local.some((m) => m.value.d === "loop-01" && m.value.e === "rate_limited"), 10_000)).toBe(true);
  const dropped = await gateway.metrics.value("vw_gateway_dropped_total", { reason: "rate_limited" });
  const reported = () => local.filter((m) => m.value.d === "loop-01" && m.value.e === "rate_limited").reduce((sum, m) => sum + (m.value.n as number), 0);
  expect(dropped).toBeGreaterThan(300);
  expect(await until(() => reported() >= dropped, 10_000)).toBe(true);
  expect(reported()).toBe(dropped);

  // the events also go to the cloud as "event" records once it is back
  await standIn.accept();
  expect(await until(() => gateway!.buffer.stats().records === 0, 20_000)).toBe(true);
  const events = standIn.records().filter((record) => record.k === "event");
  expect(events.some((record) => record.d === "valve-01" && (record.p as { e: string }).e === "offline")).toBe(true);
  expect(events.some((record) => record.d === "loop-01" && (record.p as { e: string }).e === "rate_limited")).toBe(true);
  expect(standIn.records().filter((record) => record.d === "loop-01" && record.k === "tele").length).toBe(400 - dropped);
});
