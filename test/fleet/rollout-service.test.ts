// Issue 16 point 5 at the service level, on PostgreSQL and on the SQLite default: `vibewatch fleet`
// as a real process, releases published and rollouts driven with the real CLI, a site's device
// reports arriving through the gateways' own sync API. The test plays the site gateway's side of
// POST /v1/sync (it controls what devices report: a build that installs and then overruns its
// FIFO cannot be produced on demand otherwise until the simulator's OTA path runs rollouts end to
// end); everything else is the real service. Guards against: a rollout that halts on install
// failures only (the degraded build installs fine), a control cohort updated early, a rollout stuck
// after the service dies, and devices left in an unknown state.
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateToken, hashToken } from "../../cloud/auth/token-hash.js";
import { FleetClient, type RolloutSummary } from "../../cloud/fleet/fleet-client.js";
import type { DeviceReport } from "../../cloud/fleet/storage/fleet-repository.js";
import { signRelease, writeReleaseDir } from "../../gateway/ota/release-files.js";
import { ManagedProcess, httpOk } from "../helpers/managed-process.js";
import { freePort } from "../helpers/free-port.js";
import { cliArgs, runCli } from "../helpers/run-cli.js";
import { startPostgres, type PostgresHandle } from "../helpers/postgres.js";

const SITE = "plant-a";
const DEVICES = 20;

/** what each simulated device reports: its version, and the health the test gives it */
interface DeviceModel {
  fw: string;
  boot: number;
  overruns: number;
  otaTarget?: string;
  otaState?: string;
}

for (const backend of ["postgres", "sqlite"] as const) {
  describe(`rollouts on the fleet service (${backend})`, () => {
    const dir = mkdtempSync(join(tmpdir(), `vw-rollout-${backend}-`));
    let postgres: PostgresHandle | undefined;
    let service: ManagedProcess;
    let url: string;
    let operatorToken: string;
    let gatewayToken: string;
    const models = new Map<string, DeviceModel>();
    /** the release the next installs bring, and what a device on it does */
    const behaviour: Record<string, (m: DeviceModel) => void> = {};

    beforeAll(async () => {
      const port = await freePort();
      url = `http://127.0.0.1:${port}`;
      operatorToken = generateToken("ops");
      gatewayToken = generateToken(`gw-${SITE}`);
      const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
      writeFileSync(join(dir, "release.pub.pem"), publicKey.export({ type: "spki", format: "pem" }));
      const privateKeyPem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
      for (const version of ["0.3.0", "0.4.0"]) {
        const image = new TextEncoder().encode(`firmware image ${version} `.repeat(400));
        const signed = signRelease({ image, version, board: "sim", privateKeyPem });
        writeReleaseDir(join(dir, `release-${version}`), { image, manifestBytes: signed.manifestBytes, signature: signed.signature });
      }
      let storage: Record<string, unknown> = { type: "sqlite", path: join(dir, "fleet.sqlite") };
      if (backend === "postgres") {
        postgres = await startPostgres();
        storage = { type: "postgres", url: await postgres.createDatabase("rollouts") };
      }
      writeFileSync(join(dir, "fleet.json"), JSON.stringify({
        listen: { host: "127.0.0.1", port },
        storage,
        logLevel: "warn",
        releasePublicKeyFile: join(dir, "release.pub.pem"),
        rolloutTickMs: 200,
        operators: [{ id: "ops", role: "operate", tokenHash: await hashToken(operatorToken, "sha256") }],
        gateways: [{ id: `gw-${SITE}`, site: SITE, tokenHash: await hashToken(gatewayToken, "sha256") }],
      }));
      service = new ManagedProcess({ name: "fleet", command: process.execPath, args: () => cliArgs(["fleet", "--config", join(dir, "fleet.json")]), ready: () => httpOk(`${url}/healthz`) });
      await service.start();
      for (let i = 0; i < DEVICES; i++) models.set(`m${String(i).padStart(2, "0")}`, { fw: "0.2.0", boot: 1, overruns: 0 });
    }, 120_000);

    afterAll(async () => {
      await service?.dispose();
      await postgres?.dispose();
      rmSync(dir, { recursive: true, force: true });
    });

    const cli = (args: string[]) => runCli(["fleet", ...args], { env: { VW_FLEET_URL: url, VW_FLEET_TOKEN: operatorToken } });
    const api = () => new FleetClient(url, operatorToken);

    /** one sync of the site: reports up; offered devices install (and behave as their release does) */
    async function sync(): Promise<{ device: string; version: string }[]> {
      const reports: DeviceReport[] = [...models].map(([device, m]) => ({ device, seenMs: Date.now(), online: true, fw: m.fw, boot: m.boot, overruns: m.overruns, anomalyMean: 2, ...(m.otaState ? { otaState: m.otaState, otaTarget: m.otaTarget as string } : {}) }));
      const { offers } = await new FleetClient(url, gatewayToken).sync({ site: SITE, reports });
      for (const offer of offers) {
        const m = models.get(offer.device) as DeviceModel;
        if (m.fw === offer.version) continue;
        Object.assign(m, { fw: offer.version, boot: m.boot + 1, otaState: "confirmed", otaTarget: offer.version });
      }
      for (const m of models.values()) behaviour[m.fw]?.(m);
      return offers;
    }

    async function until(what: string, done: (r: RolloutSummary) => boolean, id: string, onSync?: (offers: { device: string; version: string }[]) => void): Promise<RolloutSummary> {
      const deadline = Date.now() + 60_000;
      let syncError = "";
      while (Date.now() < deadline) {
        // (not `onSync?.(await sync())`: optional chaining skips evaluating the argument, and the sync)
        const offers = await sync().catch((error: unknown) => ((syncError = String(error)), []));
        onSync?.(offers);
        const r = await api().rollout(id).catch(() => undefined);
        if (r && done(r)) return r;
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
      throw new Error(`timed out waiting for ${what} (last sync error: ${syncError || "none"}): ${JSON.stringify(await api().rollout(id).catch((e: unknown) => String(e))).slice(0, 300)}\nLOG: ${service.log().slice(-2500)}`);
    }

    it("refuses a tampered release on publish, and publishes signed ones once", async () => {
      await sync();
      const tampered = join(dir, "tampered");
      const good = join(dir, "release-0.3.0");
      writeReleaseDir(tampered, { image: new TextEncoder().encode("not the signed image"), manifestBytes: readFileSync(join(good, "manifest.cbor")), signature: readFileSync(join(good, "manifest.sig")) });
      const refused = await cli(["release", "publish", tampered]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/release refused: .*(wrong size|bad hash)/);
      expect((await cli(["release", "publish", good])).stdout).toContain("release 0.3.0 (sim");
      expect((await cli(["release", "publish", good])).stdout).toContain("was published already");
      expect((await cli(["release", "publish", join(dir, "release-0.4.0")])).code).toBe(0);
    }, 120_000);

    it("rolls a good release through its waves to every device, the control cohort last, across a SIGKILL of the service", async () => {
      const started = await cli(["rollout", "start", "--release", "0.3.0", "--site", SITE, "--waves", "10,50,100", "--soak", "1s", "--deadline", "30s"]);
      expect(started.stderr).toBe("");
      const id = /^(r-\S+)/.exec(started.stdout)?.[1] as string;
      const offeredIn: string[][] = [];
      await until("wave 2", (r) => r.wave === 2, id, (offers) => offers.length > 0 && offeredIn.push(offers.map((o) => o.device)));
      // the control cohort (the last wave) has not been offered anything yet
      const detail = await api().rollout(id);
      const control = new Set(detail.members.filter((d) => d.wave === 2).map((d) => d.device));
      expect(control.size).toBe(10);
      expect(offeredIn.flat().some((d) => control.has(d))).toBe(false);
      await service.kill();
      await sync().catch(() => undefined); // the gateway's sync fails while the service is down
      await service.start();
      const done = await until("completed", (r) => r.status === "completed", id);
      expect(done.devices).toMatchObject({ confirmed: DEVICES, waiting: 0, offered: 0 });
      expect([...models.values()].every((m) => m.fw === "0.3.0")).toBe(true);
    }, 120_000);

    it("halts at its first wave a build that installs and confirms but then overruns its FIFO, rolls that wave back, and never updates the control cohort", async () => {
      behaviour["0.4.0"] = (m) => void (m.overruns += 7);
      const started = await cli(["rollout", "start", "--release", "0.4.0", "--site", SITE, "--waves", "10,50,100", "--soak", "1500ms", "--deadline", "30s"]);
      const id = /^(r-\S+)/.exec(started.stdout)?.[1] as string;
      const halted = await until("the health gate", (r) => r.status === "halted", id);
      expect(halted.reason).toMatch(/^wave 1: FIFO overruns per device: [\d.]+ on the updated devices, 0 on the control cohort$/);
      const reverted = await until("wave 1 back on 0.3.0", (r) => r.devices.reverting === 0, id);
      expect(reverted.devices).toMatchObject({ reverted: 2, aborted: DEVICES - 2, offered: 0, waiting: 0 });
      expect([...models.values()].filter((m) => m.fw === "0.4.0")).toEqual([]);
      const status = await cli(["rollout", "status", id]);
      expect(status.stdout).toContain("halted");
      expect(status.stdout).toContain("FIFO overruns per device");
    }, 120_000);
  });
}
