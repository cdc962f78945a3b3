// Issue 16, "Done when" 2, end to end: the fleet service on the real PostgreSQL, a real site
// gateway (its OTA distributor and fleet sync), the real Mosquitto, and simulated devices running
// the real firmware in XS with the OTA agent. A good release rolls through 4 waves to every device;
// a build that installs, passes its self-test and confirms, but then keeps restarting
// (test/ota/fixtures/crash-loop.ts: an uncaught exception after 50 windows of every boot) is halted
// at its first wave by the health gate, on reboots compared with the control cohort, and that wave
// is rolled back to the previous release; the control cohort never runs it.
// (A build whose FIFO overruns is the example; the simulated devices also overrun now and
// then when the host is loaded, so here that signal is tested with reports the test controls, in
// rollout-service.test.ts, and the reboot signal end to end.)
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFleetApp, type FleetApp } from "../../cloud/fleet/app.js";
import { loadFleetConfig } from "../../cloud/fleet/load-config.js";
import { FleetClient, type RolloutSummary } from "../../cloud/fleet/fleet-client.js";
import { generateToken, hashToken } from "../../cloud/auth/token-hash.js";
import { DeviceRunner } from "../../simulator/device-runner.js";
import type { Gateway } from "../../gateway/gateway.js";
import { startMosquitto, type MosquittoHandle } from "../helpers/mosquitto.js";
import { startPostgres, type PostgresHandle } from "../helpers/postgres.js";
import { startGateway, testConfig } from "../gateway/helpers/gateway-fixture.js";
import { Recorder, waitFor } from "../firmware-net/device-harness.js";
import { fixtureImage, makeRelease, makeReleaseKey } from "../ota/helpers/test-release.js";
import { SITE, otaSpec } from "../ota/helpers/ota-harness.js";

const DEVICES = 8;

describe("a rollout through the site gateway to simulated devices", () => {
  const dir = mkdtempSync(join(tmpdir(), "vw-rollout-e2e-"));
  const key = makeReleaseKey();
  let broker: MosquittoHandle;
  let postgres: PostgresHandle;
  let fleet: FleetApp;
  let gateway: Gateway;
  let recorder: Recorder;
  let api: FleetClient;
  const devices: DeviceRunner[] = [];

  beforeAll(async () => {
    broker = await startMosquitto();
    postgres = await startPostgres();
    recorder = await Recorder.start(broker.url, "rollout-e2e-recorder");
    const operatorToken = generateToken("ops");
    const gatewayToken = generateToken("gw-e2e");
    writeFileSync(join(dir, "release.pub.pem"), key.publicKeyPem);
    writeFileSync(join(dir, "gw.token"), gatewayToken);
    writeFileSync(join(dir, "fleet.json"), JSON.stringify({
      storage: { type: "postgres", url: await postgres.createDatabase("rollout_e2e") },
      logLevel: "warn",
      releasePublicKeyFile: join(dir, "release.pub.pem"),
      rolloutTickMs: 250,
      operators: [{ id: "ops", role: "operate", tokenHash: await hashToken(operatorToken, "sha256") }],
      gateways: [{ id: "gw-e2e", site: SITE, tokenHash: await hashToken(gatewayToken, "sha256") }],
    }));
    fleet = await buildFleetApp({ config: loadFleetConfig(join(dir, "fleet.json")) });
    const fleetUrl = await fleet.listen({ host: "127.0.0.1", port: 0 });
    api = new FleetClient(fleetUrl, operatorToken);
    gateway = await startGateway(testConfig({
      mqttUrl: broker.url,
      sinkUrl: "http://127.0.0.1:9/v1/batches", // no ingest: the rollout path is under test
      dir: mkdtempSync(join(dir, "gw-")),
      overrides: {
        gatewayId: "gw-e2e",
        site: SITE,
        mqtt: { clientId: "vw-gw-e2e" },
        ota: { releasePublicKeyFile: join(dir, "release.pub.pem"), storeDir: join(dir, "ota-store") },
        fleet: { url: fleetUrl, tokenFile: join(dir, "gw.token"), syncIntervalMs: 500 },
      },
    }));
    for (let i = 0; i < DEVICES; i++) devices.push(await DeviceRunner.start({ spec: otaSpec(`roll-${String(i + 1).padStart(2, "0")}`, broker.port, key), speed: 2 }));
    for (const [version, fixture] of [["0.3.0", "firmware-0-3-0"], ["0.4.0", "crash-loop"]] as const) {
      const image = await fixtureImage(fixture);
      const release = makeRelease(key, { image, version });
      await api.publishRelease({ image, manifest: release.manifestBytes, signature: release.signature });
    }
    await waitFor("every device in the inventory", async () => (await api.devices(SITE)).devices.filter((d) => d.online && d.fw === "0.2.0").length === DEVICES, 120_000);
  }, 300_000);

  afterAll(async () => {
    for (const device of devices) await device.stop().catch(() => undefined);
    await gateway?.stop();
    await fleet?.close();
    await recorder?.stop();
    await broker?.dispose();
    await postgres?.dispose();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  async function until(id: string, what: string, done: (r: RolloutSummary) => boolean, timeoutMs: number): Promise<RolloutSummary> {
    let last: RolloutSummary | undefined;
    try {
      return await waitFor(what, async () => {
        last = (await api.rollouts()).rollouts.find((r) => r.id === id);
        return last && done(last) ? last : undefined;
      }, timeoutMs);
    } catch (error) {
      throw new Error(`${(error as Error).message}: ${JSON.stringify(last)} ${JSON.stringify((await api.rollout(id)).members)}`);
    }
  }

  it("rolls a good release through 4 waves to every device", async () => {
    const started = await api.startRollout({ release: "0.3.0", site: SITE, waves: [1, 5, 25, 100], soakMs: 8000, installDeadlineMs: 240_000, rollbackOnBreach: true });
    const done = await until(started.id, "the rollout to complete", (r) => r.status === "completed" || r.status === "halted", 600_000);
    expect(done.status).toBe("completed");
    expect(done.devices).toMatchObject({ confirmed: DEVICES });
    for (const device of devices) expect(recorder.statuses(device.spec.deviceId).at(-1)).toMatchObject({ fw: "0.3.0", os: "confirmed", sl: 1 });
  }, 660_000);

  it("halts at its first wave a build that confirms and then keeps restarting, rolls that wave back, and the control cohort never runs it", async () => {
    const started = await api.startRollout({ release: "0.4.0", site: SITE, waves: [1, 5, 25, 100], soakMs: 45_000, installDeadlineMs: 240_000, rollbackOnBreach: true });
    const halted = await until(started.id, "the health gate", (r) => r.status !== "running", 600_000);
    expect(halted.status).toBe("halted");
    expect(halted.reason).toMatch(/^wave 1: reboots per device: [1-9][\d.]* on the updated devices, 0 on the control cohort$/);
    const back = await until(started.id, "wave 1 back on 0.3.0", (r) => r.devices.reverting === 0, 600_000);
    expect(back.devices).toMatchObject({ reverted: 1, aborted: DEVICES - 1 });
    const members = (await api.rollout(started.id)).members;
    const waveOne = members.find((m) => m.wave === 0)!;
    // the wave's device ran the slow build (confirmed it), then went back
    expect(recorder.statuses(waveOne.device).some((s) => s.fw === "0.4.0" && s.os === "confirmed")).toBe(true);
    await waitFor("wave 1 reporting 0.3.0 again", () => recorder.statuses(waveOne.device).at(-1)?.fw === "0.3.0", 120_000);
    for (const m of members.filter((x) => x.wave === 3)) expect(recorder.statuses(m.device).some((s) => s.fw === "0.4.0")).toBe(false);
  }, 1_200_000);
});
