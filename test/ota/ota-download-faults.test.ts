// Issue 15, done-when 5 (device half) and point 2's "telemetry keeps flowing": the broker restarted
// mid-download, and a gateway that withholds chunks and answers "busy": every download resumes
// from the next unwritten offset (never from 0), completes, and confirms; meanwhile telemetry keeps
// reaching the broker and no device drops a message (chunk requests wait while the ring has any).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMosquitto, type MosquittoHandle } from "../helpers/mosquitto.js";
import { DeviceRunner } from "../../simulator/device-runner.js";
import { Recorder, waitFor } from "../firmware-net/device-harness.js";
import { ChunkServerStandIn } from "./helpers/chunk-server-stand-in.js";
import { fixtureImage, makeRelease, makeReleaseKey, offerBytes } from "./helpers/test-release.js";
import { SITE, baseImage, deviceEnd, otaSpec, sequenceGaps } from "./helpers/ota-harness.js";

describe("downloads through broker restarts and an unreliable gateway", () => {
  let broker: MosquittoHandle;
  let recorder: Recorder;
  let server: ChunkServerStandIn;
  const devices: DeviceRunner[] = [];
  const key = makeReleaseKey();

  beforeAll(async () => {
    broker = await startMosquitto();
    recorder = await Recorder.start(broker.url, "ota-faults-recorder");
    server = await ChunkServerStandIn.start(broker.url, SITE);
    for (const id of ["restart-1", "restart-2", "flaky-1"]) devices.push(await DeviceRunner.start({ spec: otaSpec(id, broker.port, key), speed: 2 }));
  });

  afterAll(async () => {
    for (const device of devices) await device.stop();
    await server?.stop();
    await recorder?.stop();
    await broker?.dispose();
  });

  it("resumes after a broker restart and past withheld chunks, and telemetry never waits for it", async () => {
    const base = await baseImage();
    const image = await fixtureImage("firmware-0-3-0");
    const release = makeRelease(key, { image, version: "0.3.0" });
    server.serve("0.3.0", image);
    // flaky-1: every 20th request is dropped (a lost request or reply), its first 5 are told "busy"
    let seen = 0;
    server.faults = { withhold: (device) => device === "flaky-1" && ++seen % 20 === 0, busyFirst: 5 };
    const ids = devices.map((d) => d.spec.deviceId);
    await waitFor("every device online", () => ids.every((id) => recorder.statuses(id).length > 0));
    const teleBefore = new Map(ids.map((id) => [id, recorder.of(id, "tele").length]));
    for (const id of ids) await server.offer(id, offerBytes(release));

    // the broker goes away while restart-1 and restart-2 are past their first checkpoint
    const progress = (id: string) => recorder.statuses(id).at(-1)?.op ?? 0;
    await waitFor("downloads under way", () => progress("restart-1") >= 70_000 && progress("restart-2") >= 70_000, 120_000);
    const requestsBefore = new Map(ids.map((id) => [id, server.offsets.get(id)?.length ?? 0]));
    const writtenAtStop = new Map(ids.map((id) => [id, progress(id)]));
    await broker.restart();

    await waitFor("every device confirmed 0.3.0", () => ids.every((id) => {
      const last = recorder.statuses(id).at(-1);
      return last?.os === "confirmed" && last.fw === "0.3.0";
    }), 240_000);

    for (const device of devices) {
      const id = device.spec.deviceId;
      expect(deviceEnd(device, recorder, { "0.2.0": base, "0.3.0": image }), id).toMatchObject({ image: "0.3.0", activeSlot: 1, pending: false, bricked: undefined });
      expect(device.boots.map((b) => b.cause), id).toEqual(["power-on", "restart"]);
      // resumed where it was: the first request after the restart is past what it had written, not 0
      const offsets = server.offsets.get(id) ?? [];
      const firstAfter = offsets[requestsBefore.get(id)!];
      expect(firstAfter, id).toBeGreaterThanOrEqual(writtenAtStop.get(id)!);
      // and nothing was fetched twice beyond the requests lost in flight
      expect(server.servedBytes.get(id)!, id).toBeLessThan(image.length * 1.05);
      // telemetry kept flowing on the old image during the download, nothing dropped, nothing lost
      const firstBoot = recorder.statuses(id)[0]!.b;
      const teleOfFirstBoot = recorder.of(id, "tele").filter((t) => (t as { b: number }).b === firstBoot).length;
      expect(teleOfFirstBoot - teleBefore.get(id)!, id).toBeGreaterThan(5);
      for (const boot of sequenceGaps(recorder, id)) expect(boot.missing, `${id} boot ${boot.boot}`).toEqual([]);
      const dropped = recorder.statuses(id).map((s) => s.x);
      expect(Math.max(...dropped), id).toBe(0);
    }
    // the flaky gateway's lost replies were asked again after their timeout
    expect((server.offsets.get("flaky-1") ?? []).length).toBeGreaterThan(Math.ceil(image.length / 512));
  }, 400_000);
});
