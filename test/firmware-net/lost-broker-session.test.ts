// The broker comes back without its memory (its persistence file is gone: a replaced or reinstalled
// broker). Guards against a device that relies on the broker's persistent session for its config
// subscription: it must subscribe to .../cfg again after every reconnect, or it would never hear
// a config again.
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMosquitto, type MosquittoHandle } from "../helpers/services.js";
import { DeviceRunner } from "../../simulator/device-runner.js";
import { cborEncoder } from "../../protocol/schema/validate.js";
import { deviceTopic } from "../../protocol/topics.js";
import { deviceSpec, Recorder, waitFor } from "./device-harness.js";

const DEVICE = "mixer-11";

describe("broker restarts without its sessions", () => {
  let broker: MosquittoHandle;
  let recorder: Recorder;
  let device: DeviceRunner;

  beforeAll(async () => {
    broker = await startMosquitto();
    recorder = await Recorder.start(broker.url, "recorder-session");
    device = await DeviceRunner.start({ spec: deviceSpec(DEVICE, broker.port), speed: 2 });
  });

  afterAll(async () => {
    await device?.stop();
    await recorder?.stop();
    await broker?.dispose();
  });

  it("subscribes to its config topic again after reconnecting, and applies a config sent then", async () => {
    await waitFor("first telemetry", () => recorder.of(DEVICE, "tele").length >= 1);
    await broker.stop();
    const database = join(broker.dir, "mosquitto.db");
    if (existsSync(database)) rmSync(database);
    await broker.start();
    // the recorder's own session is gone too: it subscribes again itself
    await recorder.stop();
    recorder = await Recorder.start(broker.url, "recorder-session");
    await waitFor("device reconnected", async () => ((await device.stats())?.session.connects ?? 0) >= 2, 30_000);

    const admin = await mqtt.connectAsync(broker.url);
    await admin.publishAsync(deviceTopic("plant-1", DEVICE, "cfg"), Buffer.from(cborEncoder.encode({ v: 1, cv: 3, r: 1600 })), { qos: 1, retain: true });
    await admin.endAsync();
    const status = await waitFor("status with the new config", () => recorder.statuses(DEVICE).find((s) => s.cv === 3), 30_000);
    expect(status).toMatchObject({ r: 1600, b: device.bootId });
    expect(status.er).toBeUndefined();
  }, 90_000);
});
