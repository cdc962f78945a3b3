// Issue 15, done-when "the gateway killed with SIGKILL mid-distribution resumes", with the
// simulated fleet: the real gateway CLI as a child process with OTA on, 3 simulated devices (the
// real firmware in XS, OTA agent on) downloading a release through it from the real Mosquitto.
// The gateway is SIGKILLed while every device is mid-download and started again: the release is in
// its store on disk, the offers are retained on the broker, the devices keep asking, and each one
// finishes, verifies, switches and confirms, with no new offer and no sequence number lost.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, httpOk, ManagedProcess, startMosquitto, type MosquittoHandle } from "../helpers/services.js";
import { testConfig, writeConfig } from "../gateway/helpers/gateway-fixture.js";
import { DeviceRunner } from "../../simulator/device-runner.js";
import { Recorder, waitFor } from "../firmware-net/device-harness.js";
import { fixtureImage, makeRelease, makeReleaseKey } from "./helpers/test-release.js";
import { SITE, otaSpec, sequenceGaps } from "./helpers/ota-harness.js";
import { writeReleaseDir } from "../../gateway/ota/release-files.js";
import { runCli } from "../helpers/run-cli.js";

const DEVICES = 3;

describe("the gateway SIGKILLed mid-distribution", () => {
  const dir = mkdtempSync(join(tmpdir(), "vw-ota-gw-crash-"));
  const key = makeReleaseKey();
  let broker: MosquittoHandle;
  let recorder: Recorder;
  let gateway: ManagedProcess;
  let gatewayUrl: string;
  const devices: DeviceRunner[] = [];

  beforeAll(async () => {
    broker = await startMosquitto();
    recorder = await Recorder.start(broker.url, "ota-gw-crash-recorder");
    writeFileSync(join(dir, "release.pub.pem"), key.publicKeyPem);
    const httpPort = await freePort();
    gatewayUrl = `http://127.0.0.1:${httpPort}`;
    const config = testConfig({
      mqttUrl: broker.url,
      sinkUrl: "http://127.0.0.1:9/v1/batches",
      dir,
      overrides: {
        site: SITE,
        http: { port: httpPort },
        // slow enough (~8 KB/s per device) that the kill lands in the middle of every download
        ota: { releasePublicKeyFile: join(dir, "release.pub.pem"), storeDir: join(dir, "store"), deviceBytesPerS: 8000, deviceBurstBytes: 2048 },
      },
    });
    const configPath = writeConfig(config, dir);
    gateway = new ManagedProcess({
      name: "gateway",
      command: process.execPath,
      args: () => ["--import", "tsx", "test/gateway/helpers/gateway-cli-entry.ts", "gateway", "--config", configPath],
      ready: () => httpOk(`${gatewayUrl}/healthz`, [200]),
    });
    await gateway.start();
    for (let i = 0; i < DEVICES; i++) devices.push(await DeviceRunner.start({ spec: otaSpec(`crash-${i + 1}`, broker.port, key), speed: 2 }));
  }, 180_000);

  afterAll(async () => {
    for (const device of devices) await device.stop().catch(() => undefined);
    await gateway?.dispose();
    await recorder?.stop();
    await broker?.dispose();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it("resumes every device's download after the restart, and each confirms", async () => {
    const ids = devices.map((d) => d.spec.deviceId);
    await waitFor("every device online", () => ids.every((id) => recorder.statuses(id).length > 0), 60_000);
    const image = await fixtureImage("firmware-0-3-0");
    const release = makeRelease(key, { image, version: "0.3.0" });
    const releaseDir = join(dir, "release-0.3.0");
    writeReleaseDir(releaseDir, { image, manifestBytes: release.manifestBytes, signature: release.signature });
    const offered = await runCli(["ota", "offer", "--site", SITE, "--device", ids.join(","), "--release", releaseDir, "--gateway", gatewayUrl]);
    expect(offered.code, offered.stderr).toBe(0);
    const progress = (id: string) => recorder.statuses(id).filter((s) => s.os === "downloading").at(-1)?.op ?? 0;
    await waitFor("every device a fifth into its download", () => ids.every((id) => progress(id) >= image.length / 5), 180_000);
    await gateway.kill();
    const atKill = ids.map(progress);
    await new Promise((r) => setTimeout(r, 3000));
    expect(ids.every((id) => recorder.statuses(id).at(-1)?.fw === "0.2.0")).toBe(true); // nobody finished while it was down
    await gateway.start();
    await waitFor("every device confirmed 0.3.0", () => ids.every((id) => recorder.statuses(id).at(-1)?.fw === "0.3.0" && recorder.statuses(id).at(-1)?.os === "confirmed"), 300_000);
    ids.forEach((id, i) => {
      // resumed, not started over: progress reported after the restart never fell below what it had at the kill
      const after = recorder.statuses(id).filter((s) => s.os === "downloading").map((s) => s.op ?? 0);
      expect(Math.min(...after.slice(after.findIndex((op) => op >= (atKill[i] as number))))).toBeGreaterThanOrEqual(atKill[i] as number);
      for (const boot of sequenceGaps(recorder, id)) expect(boot.missing, `${id} boot ${boot.boot}`).toEqual([]);
    });
  }, 600_000);
});
