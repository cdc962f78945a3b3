// Guards against silent or inexact drops when the buffer is full during a cloud outage: beyond
// maxBytes the oldest telemetry goes, every dropped record is counted exactly (published =
// forwarded + dropped), and alerts are never dropped.
import { afterAll, beforeAll, expect, it } from "vitest";
import type { MqttClient } from "mqtt";
import { startMosquitto, type MosquittoHandle } from "../helpers/services.js";
import { FaultInjectingIngestStandIn } from "./helpers/fault-injecting-ingest-stand-in.js";
import { BROKER_TUNING, startGateway, testConfig } from "./helpers/gateway-fixture.js";
import { alert, connectClient, encode, storedSeqs, telemetry, until } from "./helpers/device-publisher.js";
import { deviceTopic } from "../../protocol/topics.js";
import type { Gateway } from "../../gateway/gateway.js";

const TELEMETRY = 2_000;
const ALERTS = 50;
const MAX_BYTES = 20_000;

let broker: MosquittoHandle;
let standIn: FaultInjectingIngestStandIn;
let gateway: Gateway | undefined;
let client: MqttClient | undefined;

beforeAll(async () => {
  broker = await startMosquitto({ extraConfig: BROKER_TUNING });
  standIn = await FaultInjectingIngestStandIn.start();
});

afterAll(async () => {
  await gateway?.stop();
  await client?.endAsync(true);
  await standIn?.close();
  await broker?.dispose();
});

it("drops exactly the oldest telemetry that does not fit, counts it, and keeps every alert", { timeout: 120_000 }, async () => {
  await standIn.refuse(); // the cloud is away the whole time the buffer fills
  gateway = await startGateway(testConfig({ mqttUrl: broker.url, sinkUrl: standIn.url, overrides: { buffer: { maxBytes: MAX_BYTES }, sink: { batchMaxRecords: 20 } } }));
  client = await connectClient(broker.url, "dev-full");
  const pending: Array<Promise<unknown>> = [];
  let alerts = 0;
  for (let seq = 0; seq < TELEMETRY; seq++) {
    pending.push(client.publishAsync(deviceTopic("site-a", "mill-01", "tele"), encode(telemetry("mill-01", 3, seq)), { qos: 1 }));
    if (seq % (TELEMETRY / ALERTS) === 0) pending.push(client.publishAsync(deviceTopic("site-a", "mill-02", "alert"), encode(alert("mill-02", 4, alerts++)), { qos: 1 }));
    if (pending.length >= 100) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  expect(await until(async () => (await gateway!.metrics.value("vw_gateway_messages_received_total")) === TELEMETRY + ALERTS, 30_000)).toBe(true);

  const buffered = (kind: string) => (gateway!.buffer.db.prepare("SELECT count(*) AS n FROM records WHERE kind = ?").get(kind) as { n: number }).n;
  const dropped = await gateway.metrics.value("vw_gateway_dropped_total", { reason: "buffer_full", kind: "tele" });
  expect(dropped).toBeGreaterThan(TELEMETRY / 2);
  expect(buffered("tele") + dropped).toBe(TELEMETRY);
  expect(buffered("alert")).toBe(ALERTS);
  expect(await gateway.metrics.value("vw_gateway_dropped_total", { kind: "alert" })).toBe(0);
  expect(gateway.buffer.stats().bytes).toBeLessThanOrEqual(MAX_BYTES);

  await standIn.accept();
  expect(await until(() => gateway!.buffer.stats().records === 0, 30_000)).toBe(true);
  const forwarded = storedSeqs(standIn.records(), "mill-01");
  expect(forwarded.length).toBe(TELEMETRY - dropped);
  // the oldest went: what survived is the newest run of telemetry, apart from records the sink held in flight
  expect(Math.max(...forwarded)).toBe(TELEMETRY - 1);
  expect(storedSeqs(standIn.records(), "mill-02", "alert").sort((a, b) => a - b)).toEqual(Array.from({ length: ALERTS }, (_, i) => i));
});
