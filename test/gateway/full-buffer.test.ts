// Guards against silent or inexact drops when the buffer is full during a cloud outage: beyond
// maxBytes the oldest telemetry goes, every dropped record is counted exactly (published =
// forwarded + dropped), and alerts are never dropped.
import { expect, it } from "vitest";
import { useBrokerAndStandIn } from "./helpers/broker-and-stand-in.js";
import { startGateway, testConfig } from "./helpers/gateway-fixture.js";
import { alert, connectClient, encode, storedSeqs, telemetry, until } from "./helpers/device-publisher.js";
import { deviceTopic } from "../../protocol/topics.js";

const TELEMETRY = 2_000;
const ALERTS = 50;
const MAX_BYTES = 20_000;

const env = useBrokerAndStandIn();

it("drops exactly the oldest telemetry that does not fit, counts it, and keeps every alert", { timeout: 120_000 }, async () => {
  await env.standIn.refuse(); // the cloud is away the whole time the buffer fills
  env.gateway = await startGateway(testConfig({ mqttUrl: env.broker.url, sinkUrl: env.standIn.url, overrides: { buffer: { maxBytes: MAX_BYTES }, sink: { batchMaxRecords: 20 } } }));
  env.client = await connectClient(env.broker.url, "dev-full");
  const pending: Array<Promise<unknown>> = [];
  let alerts = 0;
  for (let seq = 0; seq < TELEMETRY; seq++) {
    pending.push(env.client.publishAsync(deviceTopic("site-a", "mill-01", "tele"), encode(telemetry("mill-01", 3, seq)), { qos: 1 }));
    if (seq % (TELEMETRY / ALERTS) === 0) pending.push(env.client.publishAsync(deviceTopic("site-a", "mill-02", "alert"), encode(alert("mill-02", 4, alerts++)), { qos: 1 }));
    if (pending.length >= 100) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  expect(await until(async () => (await env.gateway!.metrics.value("vw_gateway_messages_received_total")) === TELEMETRY + ALERTS, 30_000)).toBe(true);

  const buffered = (kind: string) => (env.gateway!.buffer.db.prepare("SELECT count(*) AS n FROM records WHERE kind = ?").get(kind) as { n: number }).n;
  const dropped = await env.gateway.metrics.value("vw_gateway_dropped_total", { reason: "buffer_full", kind: "tele" });
  expect(dropped).toBeGreaterThan(TELEMETRY / 2);
  expect(buffered("tele") + dropped).toBe(TELEMETRY);
  expect(buffered("alert")).toBe(ALERTS);
  expect(await env.gateway.metrics.value("vw_gateway_dropped_total", { kind: "alert" })).toBe(0);
  expect(env.gateway.buffer.stats().bytes).toBeLessThanOrEqual(MAX_BYTES);

  await env.standIn.accept();
  expect(await until(() => env.gateway!.buffer.stats().records === 0, 30_000)).toBe(true);
  const forwarded = storedSeqs(env.standIn.records(), "mill-01");
  expect(forwarded.length).toBe(TELEMETRY - dropped);
  // the oldest went: what survived is the newest run of telemetry, apart from records the sink held in flight
  expect(Math.max(...forwarded)).toBe(TELEMETRY - 1);
  expect(storedSeqs(env.standIn.records(), "mill-02", "alert").sort((a, b) => a - b)).toEqual(Array.from({ length: ALERTS }, (_, i) => i));
});
