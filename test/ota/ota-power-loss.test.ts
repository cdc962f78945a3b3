// Issue 15, done-when 4: power lost at 20 random moments during download and install (5 devices,
// 4 cuts each), and every device ends on exactly one valid image, old or new; none bricked.
// A cut is armed on the device's own flash and host calls (simulator/flash-store.ts cutPowerAt): at
// the n-th next chunk write (mid-download: resumes from the last checkpoint), the n-th read of the
// verify, the switch itself (between verify and switch: the boot record stays the old one), or
// the confirm (the new image is pending: the bootloader rolls it back at the next boot, as
// ESP-IDF's does, and the old image reports it). Which moment, and n, come from a seeded random.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMosquitto, type MosquittoHandle } from "../helpers/mosquitto.js";
import { DeviceRunner } from "../../simulator/device-runner.js";
import { Recorder, waitFor } from "../firmware-net/device-harness.js";
import { OTA_REASONS } from "../../protocol/ota.js";
import { ChunkServerStandIn } from "./helpers/chunk-server-stand-in.js";
import { fixtureImage, makeRelease, makeReleaseKey, offerBytes } from "./helpers/test-release.js";
import { SITE, baseImage, deviceEnd, otaSpec } from "./helpers/ota-harness.js";

const DEVICES = 5;
const CUTS_PER_DEVICE = 4;
const SEED = 20_261_204;

function mulberry(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    let t = (state = (state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** a moment: the op, and where among the calls of it still to come (0..1) */
type Cut = { op: string; at: number };

/** the device's 4 cuts: three in the download at random chunk writes, one at a random later moment */
function schedule(random: () => number, device: number): Cut[] {
  const cuts: Cut[] = [];
  for (let i = 0; i < CUTS_PER_DEVICE - 1; i++) cuts.push({ op: "flash.write", at: random() });
  // every device gets one of the later moments; which one rotates, where in it is random
  const later = ["flash.read", "ota.activate", "ota.mark-valid", "flash.erase", "flash.read"][device % 5]!;
  cuts.push({ op: later, at: random() });
  return cuts;
}

const CHUNK_BYTES = 512;
const SECTOR_BYTES = 4096;

/** which call of `cut.op` from now: within the calls the rest of this install still makes */
function nthCall(cut: Cut, device: DeviceRunner, sizeBytes: number): number {
  const stored = device.preferences.handle({ op: "pref.get", domain: "vwota", key: "dl" }).value as { v?: string } | null;
  const resumeAt = stored?.v ? Number(stored.v.split("|")[2]) : 0;
  const remaining = sizeBytes - resumeAt;
  const calls = cut.op === "flash.write" ? Math.ceil(remaining / CHUNK_BYTES)
    : cut.op === "flash.erase" ? Math.ceil(remaining / SECTOR_BYTES)
      : cut.op === "flash.read" ? Math.ceil(sizeBytes / SECTOR_BYTES)
        : 1;
  return 1 + Math.floor(cut.at * calls * 0.95);
}

describe("power loss during download and install", () => {
  let broker: MosquittoHandle;
  let recorder: Recorder;
  let server: ChunkServerStandIn;
  const devices: DeviceRunner[] = [];
  const key = makeReleaseKey();

  beforeAll(async () => {
    broker = await startMosquitto();
    recorder = await Recorder.start(broker.url, "ota-power-recorder");
    server = await ChunkServerStandIn.start(broker.url, SITE);
    for (let i = 0; i < DEVICES; i++) devices.push(await DeviceRunner.start({ spec: otaSpec(`power-${i + 1}`, broker.port, key), speed: 4 }));
  });

  afterAll(async () => {
    for (const device of devices) await device.stop();
    await server?.stop();
    await recorder?.stop();
    await broker?.dispose();
  });

  it("ends every device on exactly one valid image", async () => {
    const base = await baseImage();
    const image = await fixtureImage("firmware-0-3-0");
    const release = makeRelease(key, { image, version: "0.3.0" });
    server.serve("0.3.0", image);
    const random = mulberry(SEED);
    const plans = devices.map((_, i) => schedule(random, i));
    await waitFor("every device online", () => devices.every((d) => recorder.statuses(d.spec.deviceId).length > 0));

    await Promise.all(devices.map(async (device, i) => {
      const id = device.spec.deviceId;
      const plan = plans[i]!;
      device.flash.cutPowerAt(plan[0]!.op, nthCall(plan[0]!, device, image.length));
      await server.offer(id, offerBytes(release));
      for (let k = 0; k < plan.length; k++) {
        const cutsBefore = device.boots.filter((boot) => boot.cause === "power-cut").length;
        // the cut fires (and the device boots again), or the install got past that moment without it
        await waitFor(`${id} cut ${k + 1} (${plan[k]!.op})`, () => device.boots.filter((boot) => boot.cause === "power-cut").length > cutsBefore || settledOn(id) !== undefined, 180_000);
        if (device.flash.cutArmed) break; // finished before the moment came: the remaining cuts have no moment left
        await device.settled();
        const next = plan[k + 1];
        if (next) device.flash.cutPowerAt(next.op, nthCall(next, device, image.length));
      }
    }));

    const fired = devices.reduce((sum, d) => sum + d.flash.log.filter((line) => line.startsWith("power cut")).length, 0);
    expect(fired, JSON.stringify(devices.map((d, i) => [d.spec.deviceId, plans[i], d.flash.log, d.boots.map((b) => b.cause)]))).toBe(DEVICES * CUTS_PER_DEVICE);
    for (const device of devices) {
      const id = device.spec.deviceId;
      const status = await waitFor(`${id} settled`, () => settledOn(id), 180_000);
      await device.settled();
      const end = deviceEnd(device, recorder, { "0.2.0": base, "0.3.0": image });
      expect(end.bricked, id).toBeUndefined();
      expect(device.error, id).toBeUndefined();
      expect(end.pending, id).toBe(false);
      expect(["0.2.0", "0.3.0"], `${id}: active slot holds ${end.image}`).toContain(end.image);
      // what it runs is what it says it runs, and the boot record names that image
      expect(status.fw, id).toBe(end.image);
      expect(status.sl, id).toBe(end.activeSlot);
      const cutAtConfirm = device.flash.log.includes("power cut at ota.mark-valid");
      if (cutAtConfirm) expect(status, id).toMatchObject({ fw: "0.2.0", os: "rolledback", oe: OTA_REASONS.bootFailed });
      else expect(status, id).toMatchObject({ fw: "0.3.0", os: "confirmed" });
      expect((await device.stats())?.firmwareVersion, id).toBe(end.image);
    }
    // resumed, not restarted: after a cut mid-download some device asked next for an offset past 0
    const resumedPastZero = devices.some((device) => {
      const offsets = server.offsets.get(device.spec.deviceId) ?? [];
      return offsets.some((offset, i) => i > 0 && offset > 0 && offset < offsets[i - 1]! && offset % 65_536 === 0);
    });
    expect(resumedPastZero).toBe(true);
  }, 500_000);

  /** the device's last status once it has settled on an outcome */
  function settledOn(id: string) {
    const last = recorder.statuses(id).at(-1);
    return last && (last.os === "confirmed" || last.os === "rolledback") && (last.fw === "0.3.0") === (last.os === "confirmed") ? last : undefined;
  }
});
