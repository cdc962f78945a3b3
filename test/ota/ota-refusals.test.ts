// Issue 15, done-when 2: a release with a bad signature, a wrong hash (in the manifest, or bytes
// corrupted on the way), another board, or a version below the device's anti-rollback floor is
// refused by every device, which keeps running its image: slot 0, version 0.2.0, never restarted.
// The chunks come from the stand-in (helpers/chunk-server-stand-in.ts): the real distributor
// verifies a release before it serves it, so it cannot be made to serve these.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyPairSync } from "node:crypto";
import { startMosquitto, type MosquittoHandle } from "../helpers/mosquitto.js";
import { DeviceRunner } from "../../simulator/device-runner.js";
import { PreferenceStore } from "../../simulator/preference-store.js";
import { Recorder, waitFor } from "../firmware-net/device-harness.js";
import { OTA_REASONS } from "../../protocol/ota.js";
import { ChunkServerStandIn } from "./helpers/chunk-server-stand-in.js";
import { fixtureImage, makeRelease, makeReleaseKey, offerBytes, type TestRelease } from "./helpers/test-release.js";
import { SITE, baseImage, deviceEnd, otaSpec, sequenceGaps } from "./helpers/ota-harness.js";

describe("releases every device refuses", () => {
  let broker: MosquittoHandle;
  let recorder: Recorder;
  let server: ChunkServerStandIn;
  const devices = new Map<string, DeviceRunner>();
  const key = makeReleaseKey();

  beforeAll(async () => {
    broker = await startMosquitto();
    recorder = await Recorder.start(broker.url, "ota-refusal-recorder");
    server = await ChunkServerStandIn.start(broker.url, SITE);
    for (const name of ["bad-signature", "wrong-hash", "corrupt-chunk", "other-board", "below-floor"]) {
      const preferences = new PreferenceStore();
      // what a confirmed release with minimum 0.3.0 leaves in flash (ota-good-release.test.ts checks that it does)
      if (name === "below-floor") preferences.handle({ op: "pref.set", domain: "vwota", key: "floor", value: { t: "s", v: "0.3.0" } });
      devices.set(name, await DeviceRunner.start({ spec: otaSpec(name, broker.port, key), speed: 4, preferences }));
    }
  });

  afterAll(async () => {
    for (const device of devices.values()) await device.stop();
    await server?.stop();
    await recorder?.stop();
    await broker?.dispose();
  });

  it("refuses each, reports why, and keeps running the old image", async () => {
    const base = await baseImage();
    const image = await fixtureImage("firmware-0-3-0");
    const otherKey = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    const releases: Record<string, { release: TestRelease; state: string; reason: string }> = {
      "bad-signature": { release: makeRelease(key, { image, version: "0.3.0", signWith: otherKey }), state: "refused", reason: OTA_REASONS.badSignature },
      "wrong-hash": { release: makeRelease(key, { image, version: "0.3.0", hash: new Uint8Array(32).fill(7) }), state: "failed", reason: OTA_REASONS.badHash },
      "corrupt-chunk": { release: makeRelease(key, { image, version: "0.3.0" }), state: "failed", reason: OTA_REASONS.badHash },
      "other-board": { release: makeRelease(key, { image, version: "0.3.0", board: "esp32/nodemcu" }), state: "refused", reason: `${OTA_REASONS.wrongBoard}: esp32/nodemcu` },
      "below-floor": { release: makeRelease(key, { image, version: "0.2.5" }), state: "refused", reason: `${OTA_REASONS.belowMinimum}: 0.3.0` },
    };
    server.serve("0.3.0", image);
    server.serve("0.2.5", image);
    server.faults = { corrupt: (device, offset) => device === "corrupt-chunk" && offset === 65_536 };
    await waitFor("every device online", () => [...devices.keys()].every((id) => recorder.statuses(id).length > 0));
    for (const [name, { release }] of Object.entries(releases)) await server.offer(name, offerBytes(release));

    for (const [name, expected] of Object.entries(releases)) {
      const status = await waitFor(`${name} ${expected.state}`, () => {
        const last = recorder.statuses(name).at(-1);
        return last?.os === expected.state ? last : undefined;
      }, 120_000);
      expect(status, name).toMatchObject({ fw: "0.2.0", sl: 0, os: expected.state, oe: expected.reason });
      const device = devices.get(name)!;
      const end = deviceEnd(device, recorder, { "0.2.0": base, "0.3.0": image });
      expect(end, name).toMatchObject({ image: "0.2.0", activeSlot: 0, pending: false, bricked: undefined, boots: 1 });
      expect(device.flash.log, name).toEqual([]); // never switched
      const stats = await device.stats();
      expect(stats?.firmwareVersion).toBe("0.2.0");
      for (const boot of sequenceGaps(recorder, name)) expect(boot.missing, name).toEqual([]);
    }
    expect(server.corrupted).toBeGreaterThan(0);
    // refused before a byte was asked for: signature, board and floor are checked on the offer
    for (const name of ["bad-signature", "other-board", "below-floor"]) expect(server.requests.get(name) ?? 0, name).toBe(0);
    // the offers stay retained: a reconnect hears them again and refuses again, without a download
    const device = devices.get("bad-signature")!;
    await device.reboot();
    await waitFor("bad-signature refused after a reboot", () => {
      const statuses = recorder.statuses("bad-signature");
      const last = statuses.at(-1);
      return last?.b === device.bootId && last.os === "refused";
    });
    expect(server.requests.get("bad-signature") ?? 0).toBe(0);
  }, 300_000);
});
