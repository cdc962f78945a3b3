// Guards against losing or duplicating readings when the broker restarts under load: the gateway's
// persistent session (clean: false) and the broker's persistence must carry every QoS 1 message
// across the restart, and redelivered ones must not be stored twice.
import { afterAll, beforeAll, expect, it } from "vitest";
import type { MqttClient } from "mqtt";
import { startMosquitto, type MosquittoHandle } from "../helpers/services.js";
import { FaultInjectingIngestStandIn } from "./helpers/fault-injecting-ingest-stand-in.js";
import { BROKER_TUNING, startGateway, testConfig } from "./helpers/gateway-fixture.js";
import { connectClient, SteadyPublisher, storedSeqs, until } from "./helpers/device-publisher.js";
import type { Gateway } from "../../gateway/gateway.js";

let broker: MosquittoHandle;
let standIn: FaultInjectingIngestStandIn;
let gateway: Gateway | undefined;
let publisherClient: MqttClient | undefined;

beforeAll(async () => {
  broker = await startMosquitto({ extraConfig: BROKER_TUNING });
  standIn = await FaultInjectingIngestStandIn.start();
});

afterAll(async () => {
  await gateway?.stop();
  await publisherClient?.endAsync(true);
  await standIn?.close();
  await broker?.dispose();
});

it("forwards every reading exactly once across a broker restart", async () => {
  gateway = await startGateway(testConfig({ mqttUrl: broker.url, sinkUrl: standIn.url }));
  publisherClient = await connectClient(broker.url, "dev-broker-restart");
  const publisher = new SteadyPublisher(publisherClient, "site-a", "pump-01", 1111, 10, 20);
  publisher.start();
  await until(() => storedSeqs(standIn.records(), "pump-01").length > 200, 20_000);
  await broker.restart();
  const publishedAtRestart = publisher.published;
  await until(() => storedSeqs(standIn.records(), "pump-01").length > publishedAtRestart + 200, 20_000);
  await publisher.stop();
  const published = publisher.published;
  expect(await until(() => publisher.acked.size === published, 20_000)).toBe(true);
  expect(await until(() => storedSeqs(standIn.records(), "pump-01").length >= published, 30_000)).toBe(true);
  const seqs = storedSeqs(standIn.records(), "pump-01").sort((a, b) => a - b);
  expect(seqs).toEqual(Array.from({ length: published }, (_, i) => i));
  expect(standIn.duplicateReadings()).toEqual([]);
  expect(standIn.sharedTimestamps()).toBe(0);
  // the stand-in stores a batch before its reply reaches the gateway, which counts on the reply
  const forwarded = () => gateway!.metrics.value("vw_gateway_records_forwarded_total", { kind: "tele" });
  await until(async () => (await forwarded()) === published, 10_000);
  expect(await forwarded()).toBe(published);
  // the operations endpoints tell the same story
  const health = await fetch(`http://127.0.0.1:${gateway.httpPort}/healthz`);
  expect(health.status).toBe(200);
  const metrics = await (await fetch(`http://127.0.0.1:${gateway.httpPort}/metrics`)).text();
  expect(metrics).toContain(`vw_gateway_records_forwarded_total{kind="tele"} ${published}`);
  expect(metrics).toMatch(/^vw_gateway_buffer_records 0$/m);
  expect(metrics).toContain("vw_gateway_batch_latency_seconds_bucket");
});
