// Guards against messages stuck or lost when a commit fails (disk full, I/O error): nothing of the
// failed group is acknowledged, the gateway reconnects so the broker redelivers it, and every
// reading is forwarded once the disk takes writes again.
import { expect, it } from "vitest";
import { useBrokerAndStandIn } from "./helpers/broker-and-stand-in.js";
import { startGateway, testConfig } from "./helpers/gateway-fixture.js";
import { connectClient, encode, storedSeqs, telemetry, until } from "./helpers/device-publisher.js";
import { deviceTopic } from "../../protocol/topics.js";

const env = useBrokerAndStandIn();

it("redelivers and forwards every message of a group whose commit failed", async () => {
  env.gateway = await startGateway(testConfig({ mqttUrl: env.broker.url, sinkUrl: env.standIn.url, overrides: { buffer: { commitIntervalMs: 50 } } }));
  const buffer = env.gateway.buffer;
  const append = buffer.append.bind(buffer);
  let failures = 0;
  buffer.append = (records, quarantine) => {
    if (failures < 3 && records.some((record) => record.kind === "tele")) {
      failures++;
      throw new Error("SQLITE_FULL: database or disk is full (injected)");
    }
    return append(records, quarantine);
  };
  env.client = await connectClient(env.broker.url, "dev-commit-failure");
  const sends = Array.from({ length: 500 }, (_, seq) => env.client!.publishAsync(deviceTopic("site-a", "kiln-01", "tele"), encode(telemetry("kiln-01", 8, seq)), { qos: 1 }));
  await Promise.all(sends);
  expect(await until(() => storedSeqs(env.standIn.records(), "kiln-01").length >= 500, 30_000)).toBe(true);
  expect(failures).toBe(3);
  expect(storedSeqs(env.standIn.records(), "kiln-01").sort((a, b) => a - b)).toEqual(Array.from({ length: 500 }, (_, i) => i));
  expect(env.standIn.duplicateReadings()).toEqual([]);
});
