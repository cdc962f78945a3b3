// Guards against readings lost or stored twice when the gateway dies abruptly (power cut, OOM
// kill): the gateway runs as a child process (the real CLI) and is SIGKILLed 5 times under steady
// QoS 1 load. A message is acknowledged only once durable, so the broker redelivers whatever was
// not; what was forwarded but not yet deleted is resent with the same record id.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { MqttClient } from "mqtt";
import { freePort, httpOk, ManagedProcess, startMosquitto, type MosquittoHandle } from "../helpers/services.js";
import { FaultInjectingIngestStandIn } from "./helpers/fault-injecting-ingest-stand-in.js";
import { BROKER_TUNING, testConfig, writeConfig } from "./helpers/gateway-fixture.js";
import { connectClient, SteadyPublisher, storedSeqs, until } from "./helpers/device-publisher.js";

const KILLS = 5;
let broker: MosquittoHandle;
let standIn: FaultInjectingIngestStandIn;
let child: ManagedProcess | undefined;
let publisherClient: MqttClient | undefined;
const dir = mkdtempSync(join(tmpdir(), "vw-gw-crash-"));

beforeAll(async () => {
  broker = await startMosquitto({ extraConfig: BROKER_TUNING });
  standIn = await FaultInjectingIngestStandIn.start();
});

afterAll(async () => {
  await child?.dispose();
  await publisherClient?.endAsync(true);
  await standIn?.close();
  await broker?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

it("forwards every published sequence number, none twice, after 5 SIGKILLs under load", { timeout: 150_000 }, async () => {
  const httpPort = await freePort();
  const config = testConfig({ mqttUrl: broker.url, sinkUrl: standIn.url, dir, overrides: {
      http: { port: httpPort },
      // a long commit interval widens the window of received-but-not-yet-durable messages that a
      // kill must not lose (an ack sent before the commit would lose them here)
      buffer: { commitIntervalMs: 200 },
      logLevel: "info",
    },
  });
  const configPath = writeConfig(config, dir);
  child = new ManagedProcess({
    name: "gateway",
    command: process.execPath,
    args: () => ["--import", "tsx", "test/gateway/helpers/gateway-cli-entry.ts", "gateway", "--config", configPath],
    ready: () => httpOk(`http://127.0.0.1:${httpPort}/healthz`, [200]),
  });
  await child.start();
  publisherClient = await connectClient(broker.url, "dev-crash");
  const publisher = new SteadyPublisher(publisherClient, "site-a", "press-01", 4242, 10, 20);
  publisher.start();
  let stored = 0;
  for (let kill = 0; kill < KILLS; kill++) {
    // let it commit and forward under load, then cut the power mid-flight
    const target = storedSeqs(standIn.records(), "press-01").length + 200;
    expect(await until(() => storedSeqs(standIn.records(), "press-01").length >= target, 20_000, 20)).toBe(true);
    await child.kill();
    await new Promise((r) => setTimeout(r, 200));
    await child.start();
    stored = storedSeqs(standIn.records(), "press-01").length;
  }
  await until(() => storedSeqs(standIn.records(), "press-01").length > stored + 200, 20_000);
  await publisher.stop();
  const published = publisher.published;
  expect(await until(() => publisher.acked.size === published, 30_000)).toBe(true);
  expect(await until(() => storedSeqs(standIn.records(), "press-01").length >= published, 60_000)).toBe(true);
  const seqs = storedSeqs(standIn.records(), "press-01").sort((a, b) => a - b);
  expect(seqs).toEqual(Array.from({ length: published }, (_, i) => i));
  expect(standIn.duplicateReadings()).toEqual([]);
  expect(standIn.sharedTimestamps()).toBe(0);
  await child.stop(); // SIGTERM: stop intake, commit, close the buffer
  expect(child.log()).toContain('"msg":"gateway stopped"');
});
