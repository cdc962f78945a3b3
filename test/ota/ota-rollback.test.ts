// Issue 15, done-when 3: each broken build (test/ota/fixtures/) is installed by two devices, fails,
// and is rolled back; the previous image reports "rolledback" with the reason:
//   throws-at-start  (0.9.1): the image throws while it loads; the bootloader, finding the pending
//                     image booted once and never confirmed, boots the old slot: "boot failed"
//   wrong-sensor     (0.9.2): its driver expects a LIS3DH on an ADXL345 board: "self-test: sensor: …"
//   never-connects   (0.9.3): a wrong broker port baked in; the self-test deadline passes: "self-test: mqtt"
// The release stays offered (retained) and is not tried again; telemetry flows on the old image.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMosquitto, type MosquittoHandle } from "../helpers/mosquitto.js";
import { DeviceRunner } from "../../simulator/device-runner.js";
import { Recorder, waitFor } from "../firmware-net/device-harness.js";
import { OTA_REASONS } from "../../protocol/ota.js";
import { ChunkServerStandIn } from "./helpers/chunk-server-stand-in.js";
import { fixtureImage, makeRelease, makeReleaseKey, offerBytes } from "./helpers/test-release.js";
import { SELF_TEST_DEADLINE_MS, SITE, baseImage, deviceEnd, otaSpec, sequenceGaps } from "./helpers/ota-harness.js";

const BUILDS = [
  { fixture: "throws-at-start", version: "0.9.1", reason: OTA_REASONS.bootFailed, pendingBoot: "boot-failure" },
  { fixture: "wrong-sensor", version: "0.9.2", reason: `${OTA_REASONS.selfTestSensor}: lis3dh:`, pendingBoot: "roll-back" },
  { fixture: "never-connects", version: "0.9.3", reason: OTA_REASONS.selfTestMqtt, pendingBoot: "roll-back" },
] as const;

describe("broken builds are rolled back", () => {
  let broker: MosquittoHandle;
  let recorder: Recorder;
  let server: ChunkServerStandIn;
  const devices: { runner: DeviceRunner; build: (typeof BUILDS)[number] }[] = [];
  const key = makeReleaseKey();

  beforeAll(async () => {
    broker = await startMosquitto();
    recorder = await Recorder.start(broker.url, "ota-rollback-recorder");
    server = await ChunkServerStandIn.start(broker.url, SITE);
    for (const build of BUILDS) {
      for (const n of [1, 2]) devices.push({ runner: await DeviceRunner.start({ spec: otaSpec(`${build.fixture}-${n}`, broker.port, key), speed: 4 }), build });
    }
  });

  afterAll(async () => {
    for (const { runner } of devices) await runner.stop();
    await server?.stop();
    await recorder?.stop();
    await broker?.dispose();
  });

  it("rolls each back on every device that installed it and reports why", async () => {
    const base = await baseImage();
    const images: Record<string, Uint8Array> = { "0.2.0": base };
    for (const build of BUILDS) {
      const image = await fixtureImage(build.fixture);
      images[build.version] = image;
      server.serve(build.version, image);
    }
    await waitFor("every device online", () => devices.every(({ runner }) => recorder.statuses(runner.spec.deviceId).length > 0));
    for (const { runner, build } of devices) await server.offer(runner.spec.deviceId, offerBytes(makeRelease(key, { image: images[build.version]!, version: build.version })));

    for (const { runner, build } of devices) {
      const id = runner.spec.deviceId;
      const status = await waitFor(`${id} rolled back`, () => {
        const last = recorder.statuses(id).at(-1);
        return last?.os === "rolledback" && last.fw === "0.2.0" ? last : undefined;
      }, 240_000);
      expect(status, id).toMatchObject({ fw: "0.2.0", sl: 0, os: "rolledback", ot: build.version });
      expect(status.oe?.startsWith(build.reason), `${id}: ${status.oe}`).toBe(true);
      expect(deviceEnd(runner, recorder, images), id).toMatchObject({ image: "0.2.0", activeSlot: 0, pending: false, bricked: undefined });
      // old image, the broken one booted pending once, then the old image again
      expect(runner.boots.map((b) => [b.slot, b.pending]), id).toEqual([[0, false], [1, true], [0, false]]);
      expect(runner.boots[2]!.cause, id).toBe(build.pendingBoot);
      // within the self-test deadline (virtual time of the pending boot; one runner step of slack)
      expect(runner.boots[1]!.virtualMs, id).toBeLessThanOrEqual(SELF_TEST_DEADLINE_MS + 100);
      expect(runner.flash.record.invalid, id).toEqual([1]);
    }
    // still offered, never tried again; the old image keeps publishing
    const counts = devices.map(({ runner }) => recorder.of(runner.spec.deviceId, "tele").length);
    await waitFor("telemetry on the old images", () => devices.every(({ runner }, i) => recorder.of(runner.spec.deviceId, "tele").length > counts[i]! + 2));
    for (const { runner } of devices) {
      const id = runner.spec.deviceId;
      expect(runner.flash.log.filter((line) => line.startsWith("switch")), id).toHaveLength(1);
      expect((await runner.stats())?.ota, id).toMatchObject({ slot: 0, state: "rolledback" });
      // the first boot drained its ring before the switch: nothing lost in it
      const firstBoot = sequenceGaps(recorder, id).find((boot) => boot.boot === recorder.statuses(id)[0]!.b)!;
      expect(firstBoot.missing, id).toEqual([]);
    }
  }, 400_000);
});
