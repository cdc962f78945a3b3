// Flash (NVS) that refuses writes and reads, on a running device: the firmware in XS against the
// real Mosquitto (issue 20). On the ESP32, Preference.set/get throw ("nvs set fail", "nvs get fail")
// and an uncaught exception reboots the device, losing its RAM ring. Guards against: a refused
// write of the learned baseline (in the sampler's timer) or of a received config (in the socket
// callback) rebooting the device, a config taken back because flash refused it, a failure the
// status does not report, an error that outlives flash's recovery, and an unreadable flash at boot
// stopping the boot instead of running on build defaults.
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMosquitto, type MosquittoHandle } from "../helpers/services.js";
import { DeviceRunner } from "../../simulator/device-runner.js";
import { PreferenceStore } from "../../simulator/preference-store.js";
import { cborDecoder, cborEncoder } from "../../protocol/schema/validate.js";
import { deviceTopic } from "../../protocol/topics.js";
import type { Status, Telemetry } from "../../protocol/messages.js";
import { deviceSpec, Recorder, waitFor } from "./device-harness.js";

const DEVICE = "press-04";

/** DeviceApp.counters as the device reports them in stats (the flash counters included) */

describe("flash (NVS) failures", () => {
  let broker: MosquittoHandle;
  let recorder: Recorder;
  let admin: MqttClient;
  let device: DeviceRunner;
  const flash = new PreferenceStore();
  const cfgTopic = deviceTopic("plant-1", DEVICE, "cfg");
  const publishConfig = (value: unknown) => admin.publishAsync(cfgTopic, Buffer.from(cborEncoder.encode(value)), { qos: 1, retain: true });
  const statusWith = (boot: number, match: (s: Status) => boolean) => recorder.statuses(DEVICE).find((s) => s.b === boot && match(s));
  const telemetryAfter = (boot: number, sequence: number) => (recorder.of(DEVICE, "tele") as Telemetry[]).filter((t) => t.b === boot && t.s > sequence);
  const counters = async () => (await device.stats())!.app;

  beforeAll(async () => {
    broker = await startMosquitto();
    recorder = await Recorder.start(broker.url, "recorder-nvs");
    admin = await mqtt.connectAsync(broker.url, { clientId: "site-admin-nvs" });
    // flash refuses every write from the first moment: the learned baseline (4 windows) and the
    // config below both meet it
    flash.failWrites = true;
    device = await DeviceRunner.start({ spec: deviceSpec(DEVICE, broker.port, { defaults: { heartbeatS: 5, learningWindows: 4 } }), speed: 2, preferences: flash });
  });

  afterAll(async () => {
    await device?.stop();
    await admin?.endAsync();
    await recorder?.stop();
    await broker?.dispose();
  });

  it("applies a config flash refuses, without a reboot, reports it, and saves once flash works again", async () => {
    const boot = device.bootId;
    // the baseline is learned (4 windows) and its write refused: no restart, counted and reported
    await waitFor("eight windows of the first boot", () => telemetryAfter(boot, -1).length >= 8 || device.faults.length > 0);
    expect(device.faults).toEqual([]);
    expect(device.bootId).toBe(boot);
    await waitFor("the refused baseline write reported", () => statusWith(boot, (s) => s.er?.includes("baseline not saved: nvs set fail") ?? false));
    expect(flash.bytes("vw", "bl")).toBeUndefined();

    await publishConfig({ v: 1, cv: 3, r: 1600, hb: 5 });
    const applied = await waitFor("status with cv 3", () => statusWith(boot, (s) => s.cv === 3));
    expect(applied.r).toBe(1600);
    expect(applied.er).toContain("cfg not saved: nvs set fail");
    expect(applied.er!.length).toBeLessThanOrEqual(96);
    // in force: every window after the status is at the new rate
    await waitFor("two windows after the config", () => telemetryAfter(boot, applied.s).length >= 2);
    expect(telemetryAfter(boot, applied.s).every((t) => t.r === 1600)).toBe(true);
    // not in flash, and the device is still on its first boot
    expect(flash.bytes("vw", "cfg")).toBeUndefined();
    expect(flash.failedWrites).toBeGreaterThanOrEqual(2);
    expect(device.faults).toEqual([]);
    expect(device.bootId).toBe(boot);
    const stats = (await device.stats())!;
    expect(stats.bootId).toBe(boot);
    expect(stats.configVersion).toBe(3);
    expect(stats.app.configApplied).toBe(1);
    expect(stats.app.persistFailures).toBeGreaterThanOrEqual(2);
    expect(recorder.invalid).toEqual([]);

    // flash works again: the heartbeat saves what was refused, and the error goes
    flash.failWrites = false;
    const recovered = await waitFor("a status without an error", () => statusWith(boot, (s) => s.s > applied.s && s.er === undefined));
    expect(recovered.cv).toBe(3);
    expect(cborDecoder.decode(flash.bytes("vw", "cfg")!)).toEqual({ v: 1, cv: 3, r: 1600, hb: 5 });
    expect(flash.bytes("vw", "bl")).toBeDefined();

    // and a new config is persisted as received
    await publishConfig({ v: 1, cv: 4, r: 800, hb: 5 });
    const next = await waitFor("status with cv 4", () => statusWith(boot, (s) => s.cv === 4));
    expect(next.er).toBeUndefined();
    expect(cborDecoder.decode(flash.bytes("vw", "cfg")!)).toEqual({ v: 1, cv: 4, r: 800, hb: 5 });
    expect(device.bootId).toBe(boot);
    expect(device.faults).toEqual([]);
  }, 120_000);

  it("boots on build defaults when flash cannot be read, says so, and takes the broker's config", async () => {
    flash.failReads = true;
    await device.reboot();
    const boot = device.bootId;
    // first status of the new boot: build defaults, the unreadable flash named
    const first = await waitFor("first status after the reboot", () => statusWith(boot, () => true));
    expect(first).toMatchObject({ s: 0, cv: 0, r: 3200 });
    expect(first.er).toContain("cfg not read: nvs get fail");
    expect((await counters()).loadFailures).toBeGreaterThanOrEqual(1);
    // the retained config (cv 4) comes with the subscription, is applied, and saved (writes work)
    const retained = await waitFor("the retained config applied", () => statusWith(boot, (s) => s.cv === 4));
    expect(retained.r).toBe(800);
    expect(retained.er ?? "").not.toContain("cfg not");
    flash.failReads = false;
    expect(device.faults).toEqual([]);
    expect(device.bootId).toBe(boot);
  }, 120_000);
});
