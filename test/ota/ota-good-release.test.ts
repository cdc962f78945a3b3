// Issue 15, done-when 1: a good release installs on 10 simulated devices through the real site
// distributor (gateway/ota/ota-distributor.ts) and the real Mosquitto, each confirms after its
// self-test, and the loss audit per boot shows no sequence number missing across the reboot.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMosquitto, type MosquittoHandle } from "../helpers/mosquitto.js";
import { DeviceRunner } from "../../simulator/device-runner.js";
import { Recorder, waitFor } from "../firmware-net/device-harness.js";
import { OtaDistributor } from "../../gateway/ota/ota-distributor.js";
import { fixtureImage, makeRelease, makeReleaseKey } from "./helpers/test-release.js";
import { SITE, baseImage, deviceEnd, otaSpec, sequenceGaps } from "./helpers/ota-harness.js";

const DEVICES = 10;

describe("a good release on 10 devices", () => {
  let broker: MosquittoHandle;
  let recorder: Recorder;
  let distributor: OtaDistributor;
  const devices: DeviceRunner[] = [];
  const key = makeReleaseKey();

  beforeAll(async () => {
    broker = await startMosquitto();
    recorder = await Recorder.start(broker.url, "ota-good-recorder");
    distributor = await OtaDistributor.start({
      mqttUrl: broker.url,
      site: SITE,
      storeDir: mkdtempSync(join(tmpdir(), "vw-ota-store-")),
      releasePublicKeyPem: key.publicKeyPem,
    });
    for (let i = 0; i < DEVICES; i++) devices.push(await DeviceRunner.start({ spec: otaSpec(`good-${String(i + 1).padStart(2, "0")}`, broker.port, key), speed: 4 }));
  });

  afterAll(async () => {
    for (const device of devices) await device.stop();
    await distributor?.stop();
    await recorder?.stop();
    await broker?.dispose();
  });

  it("installs, confirms on every device, and loses no sequence number across the reboot", async () => {
    const base = await baseImage();
    const image = await fixtureImage("firmware-0-3-0");
    const release = makeRelease(key, { image, version: "0.3.0", minVersion: "0.3.0" });
    const ids = devices.map((d) => d.spec.deviceId);
    await waitFor("every device online", () => ids.every((id) => recorder.statuses(id).length > 0));
    await distributor.offer({ release: { parts: { image, manifestBytes: release.manifestBytes, signature: release.signature } }, devices: ids });

    await waitFor("every device confirmed 0.3.0", () => ids.every((id) => {
      const status = recorder.statuses(id).at(-1);
      return status?.fw === "0.3.0" && status.os === "confirmed";
    }), 300_000).catch((error: Error) => {
      throw new Error(`${error.message}: ${JSON.stringify(ids.map((id) => { const s = recorder.statuses(id).at(-1); return [id, s?.fw, s?.os, s?.op, s?.oe]; }))}`);
    });
    // one more telemetry round after the confirm, so the audit sees the new boot under way
    const counts = ids.map((id) => recorder.of(id, "tele").length);
    await waitFor("telemetry after the confirm", () => ids.every((id, i) => recorder.of(id, "tele").length > counts[i]! + 1));

    for (const device of devices) {
      const end = deviceEnd(device, recorder, { "0.2.0": base, "0.3.0": image });
      expect(end).toMatchObject({ image: "0.3.0", activeSlot: 1, pending: false, bricked: undefined });
      expect(end.status).toMatchObject({ fw: "0.3.0", sl: 1, os: "confirmed", ot: "0.3.0" });
      expect(device.boots.map((b) => [b.slot, b.pending, b.cause])).toEqual([[0, false, "power-on"], [1, true, "restart"]]);
      const stats = await device.stats();
      expect(stats?.ota).toMatchObject({ slot: 1, state: "confirmed" });
      expect(stats?.dropped).toBe(0);
      // confirming raised the anti-rollback floor to the release's minimum
      expect(device.preferences.handle({ op: "pref.get", domain: "vwota", key: "floor" }).value).toEqual({ t: "s", v: "0.3.0" });
      // the loss audit, per boot: the old boot drained its ring before the switch, the new one is complete so far
      const boots = sequenceGaps(recorder, device.spec.deviceId);
      expect(boots).toHaveLength(2);
      for (const boot of boots) expect(boot.missing, `${device.spec.deviceId} boot ${boot.boot}`).toEqual([]);
      // ...up to its very last message: what the old boot built before it restarted all arrived
      const oldBoot = boots.find((boot) => boot.boot === device.boots[0]!.bootId)!;
      expect(device.boots[0]!.endSequence, device.spec.deviceId).toBeGreaterThan(0);
      expect(oldBoot.highest, device.spec.deviceId).toBe(device.boots[0]!.endSequence! - 1);
      // the old boot's status trail shows the download and the verify
      const states = recorder.statuses(device.spec.deviceId).map((s) => s.os);
      expect(states).toContain("downloading");
      expect(states).toContain("verifying");
      expect(states).toContain("pending");
    }
    expect(recorder.invalid).toEqual([]);
  }, 400_000);
});
