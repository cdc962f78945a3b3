// Issue 14, finding 4: made-up device ids made the gateway track devices without bound (50,000 ids
// gave devices_online 50054, then 50,054 offline events that were never dropped). Guards the cap
// (limits.maxDevices): tracked devices stay at the cap, the excess is counted, and every message of
// every device, tracked or not, is still stored and forwarded.
import { expect, it } from "vitest";
import { useBrokerAndStandIn } from "./helpers/broker-and-stand-in.js";
import { startGateway, testConfig } from "./helpers/gateway-fixture.js";
import { connectClient, encode, telemetry, until } from "./helpers/device-publisher.js";
import { deviceTopic } from "../../protocol/topics.js";

const env = useBrokerAndStandIn();

/** One series of Prometheus text, e.g. metric(text, 'vw_gateway_forgotten_total{what="presence"}'). */
function metric(text: string, series: string): number | undefined {
  const line = text.split("\n").find((entry) => entry.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

it("tracks at most limits.maxDevices devices under a flood of made-up ids, counts the rest and forwards all their data", async () => {
  const cap = 50;
  const devices = 400;
  env.gateway = await startGateway(testConfig({ mqttUrl: env.broker.url, sinkUrl: env.standIn.url, overrides: { limits: { maxDevices: cap } } }));
  env.client = await connectClient(env.broker.url, "dev-flood");
  const ids = Array.from({ length: devices }, (_, i) => `fake-${String(i).padStart(5, "0")}`);
  // two messages per device: the second one of an untracked device is still untracked
  await Promise.all(ids.flatMap((id) => [0, 1].map((seq) => env.client!.publishAsync(deviceTopic("site-a", id, "tele"), encode(telemetry(id, 3, seq)), { qos: 1 }))));

  expect(await until(() => env.standIn.records().filter((record) => record.k === "tele").length >= devices * 2, 30_000)).toBe(true);
  const forwarded = new Set(env.standIn.records().filter((record) => record.k === "tele").map((record) => `${record.d}/${(record.p as { s: number }).s}`));
  expect(forwarded.size).toBe(devices * 2);
  expect(env.standIn.duplicateReadings()).toEqual([]);

  const text = await (await fetch(`http://127.0.0.1:${env.gateway.httpPort}/metrics`)).text();
  expect(metric(text, "vw_gateway_devices_tracked")).toBe(cap);
  expect(metric(text, "vw_gateway_devices_online")).toBe(cap);
  expect(metric(text, "vw_gateway_untracked_device_messages_total")).toBe((devices - cap) * 2);
  expect(metric(text, 'vw_gateway_records_stored_total{kind="tele"}')).toBe(devices * 2);
});
