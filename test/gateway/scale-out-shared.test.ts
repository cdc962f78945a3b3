// Issue 14, point 2: several gateways at one site split its load through an MQTT 5 shared
// subscription ($share/<shareGroup>/...), each with its own client id, buffer and gateway id, and
// nothing is lost or stored twice when one of them dies abruptly. Two gateway processes (the real
// CLI) share one group on a real Mosquitto and forward to the real ingest service (embedded store);
// devices publish at QoS 1 at a steady pace while one gateway is SIGKILLed and restarted 4 times.
// Then the loss audit over the stored points shows no gap and no duplicate, and every published
// reading is stored exactly once.
//
// Each gateway has its own gateway id and token, as a site would provision them: the ingest
// authenticates a token per gateway id, and a point's identity is (measurement, site, gateway,
// device, storage time): two processes under one id could give two readings of one device the same
// storage microsecond, and the second would overwrite the first. Own ids also keep their status
// records, batch ids and metrics apart.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import Database from "better-sqlite3";
import type { FastifyInstance } from "fastify";
import type { MqttClient } from "mqtt";
import { afterAll, beforeAll, expect, it } from "vitest";
import { build } from "../../cloud/app.js";
import { readEmbeddedRows } from "../../cloud/audit/audit-sources.js";
import { auditSequences } from "../../cloud/audit/sequence-audit.js";
import { EmbeddedStore } from "../../cloud/storage/embedded-store.js";
import { GW, makeTokens, OTHER_GW, SITE, testConfig as ingestConfig } from "../cloud/helpers/ingest-fixture.js";
import { freePort, httpOk, ManagedProcess, startMosquitto, type MosquittoHandle } from "../helpers/services.js";
import { anyTestFailed } from "../helpers/failure-flag.js";
import { connectClient, SteadyPublisher, until } from "./helpers/device-publisher.js";
import { BROKER_TUNING, testConfig, writeConfig } from "./helpers/gateway-fixture.js";

const SHARE_GROUP = "plant-1-gateways";
const DEVICES = ["press-01", "press-02", "pump-07", "fan-03"];
const KILLS = 4;
const dir = mkdtempSync(join(tmpdir(), "vw-gw-scale-out-"));
const storePath = join(dir, "store.sqlite");

interface GatewayUnderTest {
  id: string;
  process: ManagedProcess;
  metricsUrl: string;
}

let broker: MosquittoHandle;
let app: FastifyInstance | undefined;
let store: EmbeddedStore | undefined;
let reader: Database.Database | undefined;
const gateways: GatewayUnderTest[] = [];
const clients: MqttClient[] = [];

beforeAll(async () => {
  broker = await startMosquitto({ extraConfig: BROKER_TUNING });
});

afterAll(async () => {
  for (const gateway of gateways) await gateway.process.dispose();
  for (const client of clients) await client.endAsync(true);
  reader?.close();
  await app?.close();
  await store?.close();
  await broker?.dispose();
  // the gateways' logs and buffers live under `dir`: keep them for the post-mortem
  if (anyTestFailed()) console.error(`[scale-out] kept for the post-mortem: ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
});

async function gatewayProcess(id: string, token: string, sinkUrl: string): Promise<GatewayUnderTest> {
  const gatewayDir = join(dir, id);
  mkdirSync(gatewayDir);
  const tokenFile = join(gatewayDir, "token");
  writeFileSync(tokenFile, token, { mode: 0o600 });
  const httpPort = await freePort();
  const config = testConfig({ mqttUrl: broker.url, sinkUrl, dir: gatewayDir, overrides: {
      gatewayId: id,
      site: SITE,
      logLevel: "info",
      mqtt: { sites: [SITE], clientId: `vw-${id}`, shareGroup: SHARE_GROUP },
      // a long commit interval widens the window of received-but-not-yet-acknowledged messages
      // that a kill leaves in the broker's session
      buffer: { commitIntervalMs: 200 },
      sink: { tokenFile },
      http: { port: httpPort },
    },
  });
  const configPath = writeConfig(config, gatewayDir);
  const process_ = new ManagedProcess({
    name: id,
    command: process.execPath,
    args: () => ["--import", "tsx", "test/gateway/helpers/gateway-cli-entry.ts", "gateway", "--config", configPath],
    ready: () => httpOk(`http://127.0.0.1:${httpPort}/healthz`, [200]),
  }, join(gatewayDir, "process"));
  mkdirSync(process_.dir, { recursive: true });
  return { id, process: process_, metricsUrl: `http://127.0.0.1:${httpPort}/metrics` };
}

/** Stored telemetry points per gateway tag. */
function storedPerGateway(): Map<string, number> {
  const rows = reader!.prepare("SELECT gateway, COUNT(*) AS n FROM points WHERE measurement = 'vw_tele' GROUP BY gateway").all() as { gateway: string; n: number }[];
  return new Map(rows.map((row) => [row.gateway, row.n]));
}

function storedTotal(): number {
  let total = 0;
  for (const n of storedPerGateway().values()) total += n;
  return total;
}

/** Distinct (device, boot, seq) among the stored telemetry points. */
function storedDistinct(): number {
  const row = reader!.prepare(
    "SELECT COUNT(*) AS n FROM (SELECT DISTINCT device, json_extract(fields, '$.boot') AS boot, json_extract(fields, '$.seq') AS seq FROM points WHERE measurement = 'vw_tele')",
  ).get() as { n: number };
  return row.n;
}

/** The sum of a counter over its label sets in a gateway's /metrics (0 when absent). */
async function counter(gateway: GatewayUnderTest, name: string): Promise<number> {
  const text = await (await fetch(gateway.metricsUrl, { signal: AbortSignal.timeout(5000) })).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

it("splits a site's load between two gateways of one share group, 0 missing and 0 duplicated after 4 SIGKILLs of one", { timeout: 240_000 }, async () => {
  const tokens = await makeTokens();
  store = new EmbeddedStore({ path: storePath });
  app = await build({ config: ingestConfig(tokens), writer: store });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const sinkUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/batches`;
  reader = new Database(storePath, { readonly: true });
  const steady = await gatewayProcess(GW, tokens.token, sinkUrl);
  const victim = await gatewayProcess(OTHER_GW, tokens.otherToken, sinkUrl);
  gateways.push(steady, victim);
  await steady.process.start();
  await victim.process.start();

  const publishers: SteadyPublisher[] = [];
  for (const [index, device] of DEVICES.entries()) {
    const client = await connectClient(broker.url, `dev-${device}`);
    clients.push(client);
    publishers.push(new SteadyPublisher(client, SITE, device, 7000 + index, 4, 25));
  }
  for (const publisher of publishers) publisher.start();
  const published = () => publishers.reduce((sum, p) => sum + p.published, 0);

  // both up: each takes a real share of the load
  expect(await until(() => storedTotal() >= 2000, 60_000, 100)).toBe(true);
  const split = storedPerGateway();
  const splitTotal = (split.get(GW) ?? 0) + (split.get(OTHER_GW) ?? 0);
  expect(split.get(GW) ?? 0).toBeGreaterThan(splitTotal * 0.2);
  expect(split.get(OTHER_GW) ?? 0).toBeGreaterThan(splitTotal * 0.2);

  const outages: Array<Record<string, number>> = [];
  for (let kill = 0; kill < KILLS; kill++) {
    // let the victim take and forward its share again, then cut its power mid-flight
    const target = (storedPerGateway().get(OTHER_GW) ?? 0) + 300;
    expect(await until(() => (storedPerGateway().get(OTHER_GW) ?? 0) >= target, 60_000, 20)).toBe(true);
    const before = { published: published(), steady: storedPerGateway().get(GW) ?? 0 };
    await victim.process.kill();
    await new Promise((r) => setTimeout(r, 1000));
    const down = { published: published() - before.published, steady: (storedPerGateway().get(GW) ?? 0) - before.steady };
    const victimBefore = storedPerGateway().get(OTHER_GW) ?? 0;
    await victim.process.start();
    const restarted = published();
    // what the victim forwards in its first second back: its queued share, if the broker kept it
    await new Promise((r) => setTimeout(r, 1000));
    outages.push({
      kill: kill + 1,
      publishedWhileDown: down.published,
      storedBySteadyWhileDown: down.steady,
      publishedInFirstSecondBack: published() - restarted,
      storedByVictimInFirstSecondBack: (storedPerGateway().get(OTHER_GW) ?? 0) - victimBefore,
      victimDuplicatesDropped: await counter(victim, "vw_gateway_duplicates_total"),
    });
  }
  expect(await until(() => (storedPerGateway().get(OTHER_GW) ?? 0) > (storedPerGateway().get(GW) ?? 0) * 0.1, 60_000)).toBe(true);
  for (const publisher of publishers) await publisher.stop();
  const total = published();
  expect(await until(() => publishers.every((p) => p.acked.size === p.published), 30_000)).toBe(true);
  expect(await until(() => storedDistinct() >= total, 120_000, 200)).toBe(true);
  // a redelivered copy forwarded late by the other gateway would arrive after the last reading:
  // wait until both buffers are empty before counting
  for (const gateway of gateways) {
    expect(await until(async () => (await counter(gateway, "vw_gateway_buffer_records")) === 0, 60_000, 200)).toBe(true);
  }

  const { rows, drops } = readEmbeddedRows(storePath);
  const expectedLast = new Map(publishers.map((p) => [`${p.device}/${p.boot}`, p.published - 1]));
  const report = auditSequences(rows.filter((row) => DEVICES.includes(row.device)), drops, expectedLast);
  const perGateway = storedPerGateway();
  console.log(JSON.stringify({
    published: total,
    storedPoints: storedTotal(),
    storedDistinct: storedDistinct(),
    perGateway: Object.fromEntries(perGateway),
    splitWhileBothUp: Object.fromEntries(split),
    kills: KILLS,
    missing: report.totals.missing,
    duplicated: report.totals.duplicated,
    duplicatesDroppedAtGateway: { [GW]: await counter(steady, "vw_gateway_duplicates_total"), [OTHER_GW]: await counter(victim, "vw_gateway_duplicates_total") },
    outages,
  }));
  const byDevice = [...report.boots].sort((a, b) => a.device.localeCompare(b.device));
  expect(byDevice.map((boot) => [boot.device, boot.missing, boot.duplicated])).toEqual([...DEVICES].sort().map((device) => [device, 0, 0]));
  expect(report.totals).toMatchObject({ boots: DEVICES.length, stored: total, missing: 0, duplicated: 0 });
  expect(storedTotal()).toBe(total);
  expect(storedDistinct()).toBe(total);
  for (const publisher of publishers) {
    const seqs = rows.filter((row) => row.device === publisher.device).map((row) => row.seq).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: publisher.published }, (_, i) => i));
  }
  for (const gateway of gateways) {
    expect(await counter(gateway, "vw_gateway_records_cloud_rejected_total")).toBe(0);
    await gateway.process.stop(); // SIGTERM: stop intake, commit, close the buffer
    expect(gateway.process.log()).toContain('"msg":"gateway stopped"');
  }
});
