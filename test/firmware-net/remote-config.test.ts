// Remote configuration through a retained .../cfg message on a real broker. Guards against: a valid
// config that does not take effect without a reboot (rate, thresholds), a config lost on reboot
// (it must come back from the device's preference store even when the broker no longer has it),
// an invalid config that changes anything instead of being rejected with an error status, and
// (issue 20) a "clear" that rests on an empty payload: the tombstone {v, cv, reset: true} sends the
// device back to its build defaults, persisted; the broker deleting the retained message changes nothing.
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMosquitto, type MosquittoHandle } from "../helpers/services.js";
import { DeviceRunner } from "../../simulator/device-runner.js";
import { cborEncoder, cborDecoder } from "../../protocol/schema/validate.js";
import { deviceTopic } from "../../protocol/topics.js";
import { configReset, type Alert, type Status, type Telemetry } from "../../protocol/messages.js";
import { deviceSpec, Recorder, waitFor } from "./device-harness.js";

const DEVICE = "fan-03";

describe("remote configuration", () => {
  let broker: MosquittoHandle;
  let recorder: Recorder;
  let admin: MqttClient;
  let device: DeviceRunner;
  const cfgTopic = deviceTopic("plant-1", DEVICE, "cfg");
  const publishConfig = (value: unknown) => admin.publishAsync(cfgTopic, Buffer.from(cborEncoder.encode(value)), { qos: 1, retain: true });

  beforeAll(async () => {
    broker = await startMosquitto();
    recorder = await Recorder.start(broker.url, "recorder-config");
    admin = await mqtt.connectAsync(broker.url, { clientId: "site-admin" });
    // a machine at ~2 mm/s: zone B, no alarms until a config sets tight thresholds
    // a short learning period, so the learned anomaly baseline is persisted early in the test
    device = await DeviceRunner.start({ spec: deviceSpec(DEVICE, broker.port, { defaults: { heartbeatS: 5, learningWindows: 4 } }), speed: 2 });
  });

  afterAll(async () => {
    await device?.stop();
    await admin?.endAsync();
    await recorder?.stop();
    await broker?.dispose();
  });

  const telemetryAfter = (boot: number, sequence: number) => (recorder.of(DEVICE, "tele") as Telemetry[]).filter((t) => t.b === boot && t.s > sequence);
  const statusWith = (boot: number, match: (s: Status) => boolean) => recorder.statuses(DEVICE).find((s) => s.b === boot && match(s));

  it("applies a valid config within one window without a reboot, and keeps it across a reboot", async () => {
    await waitFor("telemetry at the build rate", () => recorder.of(DEVICE, "tele").length >= 2);
    expect((recorder.of(DEVICE, "tele") as Telemetry[]).every((t) => t.r === 3200)).toBe(true);
    expect(recorder.of(DEVICE, "alert").filter((a) => (a as Alert).k === "vrms")).toEqual([]);
    const boot = device.bootId;

    await publishConfig({ v: 1, cv: 7, r: 1600, tw: 50, ta: 100, hb: 5 });
    const applied = await waitFor("status with cv 7", () => statusWith(boot, (s) => s.cv === 7));
    expect(applied.er).toBeUndefined();
    expect(applied.r).toBe(1600);
    // every window after the status is at the new rate: the first one included
    await waitFor("two windows after the config", () => telemetryAfter(boot, applied.s).length >= 2);
    expect(telemetryAfter(boot, applied.s).every((t) => t.r === 1600 && t.f[1] <= 1600 / 2)).toBe(true);
    // the new thresholds (0.5 / 1.0 mm/s) are below the machine's ~2 mm/s: a vrms alarm follows
    const alarm = await waitFor("vrms alarm", () => (recorder.of(DEVICE, "alert") as Alert[]).find((a) => a.k === "vrms" && a.l === 2 && a.s > applied.s));
    expect(alarm.y).toBe(100);

    // the config is in the device's flash, exactly as received
    expect(cborDecoder.decode(device.preferences.bytes("vw", "cfg")!)).toEqual({ v: 1, cv: 7, r: 1600, tw: 50, ta: 100, hb: 5 });
    await waitFor("learned baseline in flash", () => device.preferences.bytes("vw", "bl"));
    const writes = device.preferences.writes;
    expect(writes).toBe(2); // the config once, the baseline once

    // the broker forgets the config; the device reboots (power cut): the config comes from flash
    await admin.publishAsync(cfgTopic, Buffer.alloc(0), { qos: 1, retain: true });
    await device.reboot();
    expect(device.bootId).not.toBe(boot);
    // the power cut made the broker publish the Last Will for the old boot
    await waitFor("Last Will of the old boot", () => recorder.received.find((r) => r.device === DEVICE && r.message.kind === "will" && r.message.payload.b === boot));
    const rebooted = await waitFor("first status after reboot", () => statusWith(device.bootId, () => true));
    expect(rebooted).toMatchObject({ cv: 7, r: 1600, s: 0 });
    await waitFor("telemetry after reboot", () => telemetryAfter(device.bootId, -1).length >= 1);
    expect(telemetryAfter(device.bootId, -1).every((t) => t.r === 1600)).toBe(true);
    // the learned baseline came back too: an anomaly score from the first window, no relearning
    expect(telemetryAfter(device.bootId, -1)[0]!.n).not.toBeNull();
    // nothing new was written: flash is written only on change
    expect(device.preferences.writes).toBe(writes);
  }, 120_000);

  it("rejects an invalid config as a whole with an error status, and changes nothing", async () => {
    const boot = device.bootId;
    const stored = device.preferences.bytes("vw", "cfg");
    // valid rate and threshold, but one out-of-range field: nothing may change
    await publishConfig({ v: 1, cv: 8, r: 800, tw: 20, ta: 40, w: 1000 });
    const rejected = await waitFor("status with an error", () => statusWith(boot, (s) => s.er !== undefined));
    expect(rejected.er).toContain("w:");
    expect(rejected).toMatchObject({ cv: 7, r: 1600 });
    // an unknown field is rejected too
    await publishConfig({ v: 1, cv: 9, r: 800, colour: "red" });
    const unknown = await waitFor("status naming the unknown field", () => statusWith(boot, (s) => s.er?.includes("colour") ?? false));
    expect(unknown).toMatchObject({ cv: 7, r: 1600 });
    // a config too large for the device's inbound bound is refused before decoding, and reported
    await publishConfig({ v: 1, cv: 10, r: 800, bm: Array.from({ length: 16 }, () => 0.1), bs: Array.from({ length: 16 }, () => 0.1), pad: "x".repeat(1200) });
    const oversize = await waitFor("status naming the size", () => statusWith(boot, (s) => s.er?.includes("exceed") ?? false));
    expect(oversize).toMatchObject({ cv: 7, r: 1600 });
    await waitFor("two windows after the rejection", () => telemetryAfter(boot, oversize.s).length >= 2);
    expect(telemetryAfter(boot, rejected.s - 1).every((t) => t.r === 1600)).toBe(true);
    expect(device.preferences.bytes("vw", "cfg")).toEqual(stored);
    const stats = (await device.stats())!;
    expect(stats.app.configRejected).toBe(3);
    expect(stats.configVersion).toBe(7);
  }, 60_000);

  it("goes back to build defaults on the tombstone, persists that, and an empty payload after it changes nothing", async () => {
    const boot = device.bootId;
    await publishConfig(configReset(11));
    const reset = await waitFor("status with cv 11", () => statusWith(boot, (s) => s.cv === 11));
    expect(reset.er).toBeUndefined();
    expect(reset.r).toBe(3200); // the build rate
    await waitFor("two windows after the reset", () => telemetryAfter(boot, reset.s).length >= 2);
    expect(telemetryAfter(boot, reset.s).every((t) => t.r === 3200)).toBe(true);
    // in flash as received: a reboot comes back on build defaults at cv 11, not on cv 7
    expect(cborDecoder.decode(device.preferences.bytes("vw", "cfg")!)).toEqual({ v: 1, cv: 11, reset: true });
    const stored = device.preferences.bytes("vw", "cfg");
    const writes = device.preferences.writes;

    // the broker forgets the retained message: nothing changes on the device or in its flash
    await admin.publishAsync(cfgTopic, Buffer.alloc(0), { qos: 1, retain: true });
    const windows = (await device.stats())!.app.windows;
    await waitFor("two more windows", async () => (await device.stats())!.app.windows >= windows + 2);
    expect((await device.stats())!).toMatchObject({ configVersion: 11, sampleRateHz: 3200 });
    expect(device.preferences.bytes("vw", "cfg")).toEqual(stored);
    expect(device.preferences.writes).toBe(writes);

    await device.reboot();
    const rebooted = await waitFor("first status after reboot", () => statusWith(device.bootId, () => true));
    expect(rebooted).toMatchObject({ cv: 11, r: 3200, s: 0 });
    expect(rebooted.er).toBeUndefined();
  }, 60_000);

  it("withdraws a pushed baseline on the tombstone: the device learns again", async () => {
    const boot = device.bootId;
    const features = 8; // ANOMALY_FEATURES
    await publishConfig({ v: 1, cv: 12, bm: Array.from({ length: features }, () => 1), bs: Array.from({ length: features }, () => 0.5) });
    await waitFor("telemetry scored against the pushed baseline", () => statusWith(boot, (s) => s.cv === 12 && s.bl === 2));
    await publishConfig(configReset(13));
    const reset = await waitFor("status with cv 13", () => statusWith(boot, (s) => s.cv === 13));
    // the windows after the reset learn (no anomaly score), then score against what they learned
    await waitFor("two windows after the reset", () => telemetryAfter(boot, reset.s).length >= 2);
    expect(telemetryAfter(boot, reset.s)[0]!.n).toBeNull();
    // a later status (heartbeat) says learning (0) or learned (1): never the pushed baseline (2)
    const later = await waitFor("a heartbeat after those windows", () => statusWith(boot, (s) => s.cv === 13 && s.s > telemetryAfter(boot, reset.s)[1]!.s));
    expect([0, 1]).toContain(later.bl);
  }, 60_000);
});
