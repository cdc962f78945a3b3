// Guards against losing readings (or storing them twice) during a long cloud outage: for 60 s the
// ingest stand-in answers 503, 429 with Retry-After, 500, never answers (timeouts) or refuses
// connections, in turn, while devices keep publishing; then the backlog must drain completely.
import { afterAll, beforeAll, expect, it } from "vitest";
import type { MqttClient } from "mqtt";
import { startMosquitto, type MosquittoHandle } from "../helpers/services.js";
import { FaultInjectingIngestStandIn, type Fault } from "./helpers/fault-injecting-ingest-stand-in.js";
import { BROKER_TUNING, startGateway, testConfig } from "./helpers/gateway-fixture.js";
import { alert, connectClient, encode, publishQos1, SteadyPublisher, storedSeqs, until } from "./helpers/device-publisher.js";
import { deviceTopic } from "../../protocol/topics.js";
import type { Gateway } from "../../gateway/gateway.js";

const OUTAGE_MS = 60_000;
const PHASE_MS = 4_000;

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

it("loses nothing through a 60 s outage of 5xx, 429 + Retry-After, timeouts and refused connections, then drains", { timeout: 180_000 }, async () => {
  gateway = await startGateway(testConfig({ mqttUrl: broker.url, sinkUrl: standIn.url, overrides: { sink: { timeoutMs: 1000, backoffBaseMs: 100, backoffMaxMs: 2000 } } }));
  client = await connectClient(broker.url, "dev-outage");
  const publisher = new SteadyPublisher(client, "site-a", "fan-01", 777, 5, 20);
  publisher.start();
  await until(() => storedSeqs(standIn.records(), "fan-01").length > 100, 10_000);

  const phases: Array<Fault | "refuse"> = [
    { kind: "status", status: 503, retryAfterS: 1 },
    { kind: "status", status: 429, retryAfterS: 2 },
    { kind: "timeout" },
    "refuse",
    { kind: "status", status: 500 },
    { kind: "reset" },
  ];
  const alertTopic = deviceTopic("site-a", "fan-02", "alert");
  let alertsSent = 0;
  const startedMs = Date.now();
  for (let phase = 0; Date.now() - startedMs < OUTAGE_MS; phase++) {
    const fault = phases[phase % phases.length]!;
    if (fault === "refuse") await standIn.refuse();
    else {
      await standIn.accept();
      standIn.fault = () => fault;
    }
    await publishQos1(client, alertTopic, encode(alert("fan-02", 9, alertsSent++)));
    await new Promise((r) => setTimeout(r, Math.min(PHASE_MS, OUTAGE_MS - (Date.now() - startedMs))));
  }
  await standIn.accept();
  standIn.fault = () => ({ kind: "ok" });
  await publisher.stop();
  const published = publisher.published;
  expect(await until(() => publisher.acked.size === published, 20_000)).toBe(true);
  expect(await until(() => gateway!.buffer.stats().records === 0 && storedSeqs(standIn.records(), "fan-01").length >= published, 60_000)).toBe(true);

  expect(storedSeqs(standIn.records(), "fan-01").sort((a, b) => a - b)).toEqual(Array.from({ length: published }, (_, i) => i));
  expect(storedSeqs(standIn.records(), "fan-02", "alert").sort((a, b) => a - b)).toEqual(Array.from({ length: alertsSent }, (_, i) => i));
  expect(standIn.duplicateReadings()).toEqual([]);
  // every kind of fault was served and seen by the gateway as a cloud error
  for (const served of ["status_503", "status_429", "status_500", "timeout", "refused", "reset"]) expect(standIn.served.get(served) ?? 0).toBeGreaterThan(0);
  for (const kind of ["http_5xx", "http_429", "timeout", "network"]) {
    expect(await gateway.metrics.value("vw_gateway_cloud_errors_total", { kind })).toBeGreaterThan(0);
  }
  expect(standIn.gzipped).toBeGreaterThan(0); // the backlog went in large, compressed batches
  expect(await gateway.metrics.value("vw_gateway_dropped_total")).toBe(0);
});
