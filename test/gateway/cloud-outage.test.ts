// Guards against losing readings (or storing them twice) during a long cloud outage: for 60 s the
// ingest stand-in answers 503, 429 with Retry-After, 500, never answers (timeouts) or refuses
// connections, in turn, while devices keep publishing; then the backlog must drain completely.
import { expect, it } from "vitest";
import type { Fault } from "./helpers/fault-injecting-ingest-stand-in.js";
import { useBrokerAndStandIn } from "./helpers/broker-and-stand-in.js";
import { startGateway, testConfig } from "./helpers/gateway-fixture.js";
import { alert, connectClient, encode, publishQos1, SteadyPublisher, storedSeqs, until } from "./helpers/device-publisher.js";
import { deviceTopic } from "../../protocol/topics.js";

const OUTAGE_MS = 60_000;
const PHASE_MS = 4_000;

const env = useBrokerAndStandIn();

it("loses nothing through a 60 s outage of 5xx, 429 + Retry-After, timeouts and refused connections, then drains", { timeout: 180_000 }, async () => {
  env.gateway = await startGateway(testConfig({ mqttUrl: env.broker.url, sinkUrl: env.standIn.url, overrides: { sink: { timeoutMs: 1000, backoffBaseMs: 100, backoffMaxMs: 2000 } } }));
  env.client = await connectClient(env.broker.url, "dev-outage");
  const publisher = new SteadyPublisher(env.client, "site-a", "fan-01", 777, 5, 20);
  publisher.start();
  await until(() => storedSeqs(env.standIn.records(), "fan-01").length > 100, 10_000);

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
    if (fault === "refuse") await env.standIn.refuse();
    else {
      await env.standIn.accept();
      env.standIn.fault = () => fault;
    }
    await publishQos1(env.client, alertTopic, encode(alert("fan-02", 9, alertsSent++)));
    await new Promise((r) => setTimeout(r, Math.min(PHASE_MS, OUTAGE_MS - (Date.now() - startedMs))));
  }
  await env.standIn.accept();
  env.standIn.fault = () => ({ kind: "ok" });
  await publisher.stop();
  const published = publisher.published;
  expect(await until(() => publisher.acked.size === published, 20_000)).toBe(true);
  expect(await until(() => env.gateway!.buffer.stats().records === 0 && storedSeqs(env.standIn.records(), "fan-01").length >= published, 60_000)).toBe(true);

  expect(storedSeqs(env.standIn.records(), "fan-01").sort((a, b) => a - b)).toEqual(Array.from({ length: published }, (_, i) => i));
  expect(storedSeqs(env.standIn.records(), "fan-02", "alert").sort((a, b) => a - b)).toEqual(Array.from({ length: alertsSent }, (_, i) => i));
  expect(env.standIn.duplicateReadings()).toEqual([]);
  // every kind of fault was served and seen by the gateway as a cloud error
  for (const served of ["status_503", "status_429", "status_500", "timeout", "refused", "reset"]) expect(env.standIn.served.get(served) ?? 0).toBeGreaterThan(0);
  for (const kind of ["http_5xx", "http_429", "timeout", "network"]) {
    expect(await env.gateway.metrics.value("vw_gateway_cloud_errors_total", { kind })).toBeGreaterThan(0);
  }
  expect(env.standIn.gzipped).toBeGreaterThan(0); // the backlog went in large, compressed batches
  expect(await env.gateway.metrics.value("vw_gateway_dropped_total")).toBe(0);
});
