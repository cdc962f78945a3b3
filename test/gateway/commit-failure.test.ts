// Guards against messages stuck or lost when a commit fails (disk full, I/O error): nothing of the
// failed group is acknowledged, the gateway reconnects so the broker redelivers it, and every
// reading is forwarded once the disk takes writes again.
import { afterAll, beforeAll, expect, it } from "vitest";
import type { MqttClient } from "mqtt";
import { startMosquitto, type MosquittoHandle } from "../helpers/services.js";
import { FaultInjectingIngestStandIn } from "./helpers/fault-injecting-ingest-stand-in.js";
import { BROKER_TUNING, startGateway, testConfig } from "./helpers/gateway-fixture.js";
import { connectClient, encode, storedSeqs, telemetry, until } from "./helpers/device-publisher.js";
import { deviceTopic } from "../../protocol/topics.js";
import type { Gateway } from "../../gateway/gateway.js";

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

it("redelivers and forwards every message of a group whose commit failed", async () => {
  gateway = await startGateway(testConfig({ mqttUrl: broker.url, sinkUrl: standIn.url, overrides: { buffer: { commitIntervalMs: 50 } } }));
  const buffer = gateway.buffer;
  const append = buffer.append.bind(buffer);
  let failures = 0;
  buffer.append = (records, quarantine) => {
    if (failures < 3 && records.some((record) => record.kind === "tele")) {
      failures++;
      throw new Error("SQLITE_FULL: database or disk is full (injected)");
    }
    return append(records, quarantine);
  };
  client = await connectClient(broker.url, "dev-commit-failure");
  const sends = Array.from({ length: 500 }, (_, seq) => client!.publishAsync(deviceTopic("site-a", "kiln-01", "tele"), encode(telemetry("kiln-01", 8, seq)), { qos: 1 }));
  await Promise.all(sends);
  expect(await until(() => storedSeqs(standIn.records(), "kiln-01").length >= 500, 30_000)).toBe(true);
  expect(failures).toBe(3);
  expect(storedSeqs(standIn.records(), "kiln-01").sort((a, b) => a - b)).toEqual(Array.from({ length: 500 }, (_, i) => i));
  expect(standIn.duplicateReadings()).toEqual([]);
});
