// Issue 14, finding 4: a full disk showed only as {"ok":false,"mqttConnected":false} in /healthz,
// no metric counted the failed commits, and the gateway reconnected twice a second, each time
// taking a window of redelivered messages that failed again. Guards: the failures are counted by
// reason, /healthz names the state, reconnects back off (exponential, capped), and once the disk
// takes writes again every message is forwarded, once.
import { expect, it } from "vitest";
import { useBrokerAndStandIn } from "./helpers/broker-and-stand-in.js";
import { startGateway, testConfig } from "./helpers/gateway-fixture.js";
import { connectClient, encode, storedSeqs, telemetry, until } from "./helpers/device-publisher.js";
import { deviceTopic } from "../../protocol/topics.js";

const env = useBrokerAndStandIn();

function metric(text: string, series: string): number | undefined {
  const line = text.split("\n").find((entry) => entry.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** What better-sqlite3 throws when the disk is full (a SqliteError with code SQLITE_FULL). */
function diskFullError(): Error {
  return Object.assign(new Error("database or disk is full (injected)"), { code: "SQLITE_FULL" });
}

it("counts failed commits, says so in /healthz, backs off its reconnects and delivers everything once the disk recovers", { timeout: 60_000 }, async () => {
  env.gateway = await startGateway(
    testConfig({ mqttUrl: env.broker.url, sinkUrl: env.standIn.url, overrides: { mqtt: { reconnectMs: 200, reconnectMaxMs: 2000 }, buffer: { commitIntervalMs: 20 } } }),
  );
  const gateway = env.gateway;
  const base = `http://127.0.0.1:${gateway.httpPort}`;
  const append = gateway.buffer.append.bind(gateway.buffer);
  let diskFull = true;
  let failedAppends = 0;
  gateway.buffer.append = (records, quarantine) => {
    if (diskFull && records.length + (quarantine?.length ?? 0) > 0) {
      failedAppends++;
      throw diskFullError();
    }
    return append(records, quarantine);
  };
  let connects = 0;
  gateway.source.client.on("connect", () => connects++);

  env.client = await connectClient(env.broker.url, "dev-disk-full");
  const count = 300;
  await Promise.all(Array.from({ length: count }, (_, seq) => env.client!.publishAsync(deviceTopic("site-a", "press-07", "tele"), encode(telemetry("press-07", 5, seq)), { qos: 1 })));

  // the disk stays full for a while: the old code reconnected after every failure (2-5 times a second here)
  const windowMs = 6000;
  const startConnects = connects;
  await new Promise((resolve) => setTimeout(resolve, windowMs));
  const reconnects = connects - startConnects;
  expect(failedAppends).toBeGreaterThan(1);
  expect(reconnects, `reconnects in ${windowMs} ms`).toBeLessThanOrEqual(9);

  const health = await fetch(`${base}/healthz`);
  expect(health.status).toBe(503);
  const report = (await health.json()) as Record<string, unknown>;
  expect(report).toMatchObject({ ok: false, commitFailing: true, lastCommitError: "SQLITE_FULL" });
  const text = await (await fetch(`${base}/metrics`)).text();
  expect(metric(text, 'vw_gateway_commit_failures_total{reason="SQLITE_FULL"}')).toBeGreaterThanOrEqual(failedAppends > 0 ? 1 : 0);
  expect(metric(text, 'vw_gateway_commit_failures_total{reason="SQLITE_IOERR"}')).toBe(0);
  expect(metric(text, "vw_gateway_commit_failing")).toBe(1);
  expect(storedSeqs(env.standIn.records(), "press-07")).toEqual([]);

  diskFull = false;
  expect(await until(() => storedSeqs(env.standIn.records(), "press-07").length >= count, 30_000)).toBe(true);
  expect(storedSeqs(env.standIn.records(), "press-07").sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, i) => i));
  expect(env.standIn.duplicateReadings()).toEqual([]);
  const recovered = await fetch(`${base}/healthz`);
  expect(recovered.status).toBe(200);
  expect(await recovered.json()).toMatchObject({ ok: true, commitFailing: false, lastCommitError: "SQLITE_FULL" });
  const after = await (await fetch(`${base}/metrics`)).text();
  expect(metric(after, "vw_gateway_commit_failing")).toBe(0);
  expect(metric(after, 'vw_gateway_commit_failures_total{reason="SQLITE_FULL"}')).toBe(failedAppends);
});
