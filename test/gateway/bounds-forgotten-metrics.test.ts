// Issue 14, finding 4: the dedupe ranges', the heartbeat monitor's and the token buckets' `forgotten`
// counters never reached /metrics. Guards that each is a series of vw_gateway_forgotten_total from
// the start (at 0), and that the presence one counts offline devices dropped for new ones at the
// cap, read from the real gateway's /metrics.
import { expect, it } from "vitest";
import { useBrokerAndStandIn } from "./helpers/broker-and-stand-in.js";
import { startGateway, testConfig } from "./helpers/gateway-fixture.js";
import { connectClient, encode, telemetry, until } from "./helpers/device-publisher.js";
import { deviceTopic } from "../../protocol/topics.js";
import { DeviceRateLimiter } from "../../gateway/limits/token-bucket.js";

const env = useBrokerAndStandIn();

function metric(text: string, series: string): number | undefined {
  const line = text.split("\n").find((entry) => entry.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

it("shows every forgotten counter in /metrics, and counts offline devices forgotten at the cap", async () => {
  env.gateway = await startGateway(
    testConfig({ mqttUrl: env.broker.url, sinkUrl: env.standIn.url, overrides: { limits: { maxDevices: 5 }, heartbeat: { intervalS: 1, missed: 1, checkMs: 100 } } }),
  );
  const metricsUrl = `http://127.0.0.1:${env.gateway.httpPort}/metrics`;
  const before = await (await fetch(metricsUrl)).text();
  for (const what of ["dedupe", "presence", "rate_limit"]) expect(metric(before, `vw_gateway_forgotten_total{what="${what}"}`), what).toBe(0);

  env.client = await connectClient(env.broker.url, "dev-forgotten");
  const publish = async (ids: string[]) =>
    await Promise.all(ids.map((id) => env.client!.publishAsync(deviceTopic("site-a", id, "tele"), encode(telemetry(id, 1, 0)), { qos: 1 })));
  await publish(["old-1", "old-2", "old-3", "old-4", "old-5"]);
  // silent for more than intervalS x missed: all five offline
  expect(await until(async () => metric(await (await fetch(metricsUrl)).text(), "vw_gateway_devices_online") === 0 && env.standIn.records().filter((r) => r.k === "event").length >= 5, 10_000)).toBe(true);
  await publish(["new-1", "new-2", "new-3"]);
  expect(await until(() => env.standIn.records().filter((record) => record.k === "tele").length >= 8, 10_000)).toBe(true);

  const after = await (await fetch(metricsUrl)).text();
  expect(metric(after, 'vw_gateway_forgotten_total{what="presence"}')).toBe(3);
  expect(metric(after, "vw_gateway_devices_tracked")).toBe(5);
  expect(metric(after, "vw_gateway_untracked_device_messages_total")).toBe(0);
});

it("counts the token buckets forgotten beyond their bound", () => {
  const limiter = new DeviceRateLimiter(1, 1, () => 0, 3);
  for (const device of ["a", "b", "c", "d", "e"]) expect(limiter.take(device)).toBe(true);
  expect(limiter.size).toBe(3);
  expect(limiter.forgotten).toBe(2);
});

it("counts dedupe entries forgotten beyond their bound in /metrics", async () => {
  env.gateway = await startGateway(testConfig({ mqttUrl: env.broker.url, sinkUrl: env.standIn.url, overrides: { buffer: { dedupeMaxEntries: 3 } } }));
  const metricsUrl = `http://127.0.0.1:${env.gateway.httpPort}/metrics`;
  env.client = await connectClient(env.broker.url, "dev-dedupe-forgotten");
  // five (device, boot) pairs against room for three: the two least recently updated are forgotten
  for (const id of ["d-1", "d-2", "d-3", "d-4", "d-5"]) await env.client.publishAsync(deviceTopic("site-a", id, "tele"), encode(telemetry(id, 1, 0)), { qos: 1 });
  expect(await until(() => env.standIn.records().filter((record) => record.k === "tele").length >= 5, 10_000)).toBe(true);
  expect(await until(async () => metric(await (await fetch(metricsUrl)).text(), 'vw_gateway_forgotten_total{what="dedupe"}') === 2, 10_000)).toBe(true);
});
