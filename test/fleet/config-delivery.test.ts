// Issue 16, "Done when" 1: desired configuration through the fleet service, the site gateways and
// the real Mosquitto to simulated devices running the real firmware (XS), on PostgreSQL and on the
// SQLite default. Guards against the failures its anchors are known for: a change made while a
// device is offline never arriving, a site's config leaking to another site, a reported version
// that never matches the desired one, and a bad config sent before anyone checked it.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFleetApp, type FleetApp } from "../../cloud/fleet/app.js";
import { loadFleetConfig } from "../../cloud/fleet/load-config.js";
import { FleetClient } from "../../cloud/fleet/fleet-client.js";
import { generateToken, hashToken } from "../../cloud/auth/token-hash.js";
import { DeviceRunner } from "../../simulator/device-runner.js";
import { fleetDeviceSpec } from "../../simulator/fleet.js";
import type { Gateway } from "../../gateway/gateway.js";
import { startMosquitto, type MosquittoHandle } from "../helpers/mosquitto.js";
import { startPostgres, type PostgresHandle } from "../helpers/postgres.js";
import { runCli } from "../helpers/run-cli.js";
import { startGateway, testConfig } from "../gateway/helpers/gateway-fixture.js";

const SITES = ["plant-a", "plant-b"] as const;
const DEVICES_PER_SITE = 10;
const SYNC_MS = 300;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}

for (const backend of ["postgres", "sqlite"] as const) {
  describe(`desired configuration reaches the devices (fleet on ${backend})`, () => {
    const dir = mkdtempSync(join(tmpdir(), `vw-fleet-e2e-${backend}-`));
    let postgres: PostgresHandle | undefined;
    let broker: MosquittoHandle;
    let fleet: FleetApp;
    let fleetUrl: string;
    let operatorToken: string;
    const gateways: Gateway[] = [];
    const devices = new Map<string, DeviceRunner>();
    const key = (site: string, device: string) => `${site}/${device}`;

    beforeAll(async () => {
      broker = await startMosquitto();
      operatorToken = generateToken("ops");
      const gatewayTokens = SITES.map((site) => generateToken(`gw-${site}`));
      let storage: Record<string, unknown> = { type: "sqlite", path: join(dir, "fleet.sqlite") };
      if (backend === "postgres") {
        postgres = await startPostgres();
        storage = { type: "postgres", url: await postgres.createDatabase("fleet") };
      }
      const configPath = join(dir, "fleet.json");
      writeFileSync(configPath, JSON.stringify({
        listen: { port: 0 },
        storage,
        logLevel: "error",
        operators: [{ id: "ops", role: "operate", tokenHash: await hashToken(operatorToken, "sha256") }],
        gateways: await Promise.all(SITES.map(async (site, i) => ({ id: `gw-${site}`, site, tokenHash: await hashToken(gatewayTokens[i] as string, "sha256") }))),
      }));
      fleet = await buildFleetApp({ config: loadFleetConfig(configPath) });
      fleetUrl = await fleet.listen({ host: "127.0.0.1", port: 0 });
      for (const [i, site] of SITES.entries()) {
        const tokenFile = join(dir, `gw-${site}.token`);
        writeFileSync(tokenFile, gatewayTokens[i] as string);
        gateways.push(await startGateway(testConfig({
          mqttUrl: broker.url,
          sinkUrl: "http://127.0.0.1:9/v1/batches", // no ingest: this test is about the config path
          dir: mkdtempSync(join(dir, `gw-${site}-`)),
          overrides: { gatewayId: `gw-${site}`, site, mqtt: { clientId: `vw-gw-${site}` }, fleet: { url: fleetUrl, tokenFile, syncIntervalMs: SYNC_MS } },
        })));
      }
      for (const site of SITES) {
        for (let i = 0; i < DEVICES_PER_SITE; i++) {
          const spec = fleetDeviceSpec(i, site, broker.url, { heartbeatS: 2 });
          devices.set(key(site, spec.deviceId), await DeviceRunner.start({ spec, speed: 1 }));
        }
      }
    }, 240_000);

    afterAll(async () => {
      await Promise.all([...devices.values()].map((d) => d.stop().catch(() => undefined)));
      for (const gateway of gateways) await gateway.stop();
      await fleet?.close();
      await broker?.dispose();
      await postgres?.dispose();
      rmSync(dir, { recursive: true, force: true });
    }, 60_000);

    const cli = (args: string[]) => runCli(["fleet", ...args], { env: { VW_FLEET_URL: fleetUrl, VW_FLEET_TOKEN: operatorToken } });

    it("lists every device of both sites from what the gateways report", async () => {
      const listing = await until("20 devices online in the inventory", async () => {
        const { devices: listed } = await new FleetClient(fleetUrl, operatorToken).devices();
        return listed.filter((d) => d.online).length === SITES.length * DEVICES_PER_SITE ? listed : undefined;
      });
      expect(new Set(listing.map((d) => d.site))).toEqual(new Set(SITES));
      expect(listing.every((d) => d.fw !== undefined && d.cfgVersion === 0 && d.cfgDesired === null && !d.drift)).toBe(true);
      const text = await cli(["devices", "--site", "plant-a"]);
      expect(text.code).toBe(0);
      expect(text.stdout.split("\n").filter((line) => line.startsWith("plant-a "))).toHaveLength(DEVICES_PER_SITE);
    }, 180_000);

    it("refuses an invalid config in the CLI, naming the field, before anything is sent", async () => {
      const before = (await fleet.repo.listDesiredConfigs()).length;
      const refused = await cli(["config", "set", "--site", "plant-a", "tw=500", "ta=400"]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain("tw: want less than ta");
      const unknown = await cli(["config", "set", "--site", "plant-a", "hop=7"]);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain("hop: unknown field");
      expect((await fleet.repo.listDesiredConfigs()).length).toBe(before);
    }, 120_000);

    it("delivers a site's config to all 10 of its devices, the 5 offline ones when they return, and to none of the other site", async () => {
      const siteA = [...devices.entries()].filter(([k]) => k.startsWith("plant-a/"));
      const offline = siteA.slice(0, 5);
      for (const [, runner] of offline) await runner.stop();
      const set = await cli(["config", "set", "--site", "plant-a", "hb=7", "tw=280", "ta=450"]);
      expect(set.stderr).toBe("");
      expect(set.code).toBe(0);
      const revision = Number(/revision (\d+)/.exec(set.stdout)?.[1]);
      expect(revision).toBeGreaterThan(0);
      const client = new FleetClient(fleetUrl, operatorToken);
      const applied = (site: string) => async () => (await client.devices(site)).devices.filter((d) => d.online && d.cfgVersion === revision).length;
      await until("the 5 online devices of plant-a to run the new config", async () => ((await applied("plant-a")()) === 5 ? true : undefined));
      // the 5 come back, with the flash they had (a power cycle, not a new device)
      for (const [k, runner] of offline) devices.set(k, await DeviceRunner.start({ spec: runner.spec, speed: 1, preferences: runner.preferences }));
      await until("all 10 devices of plant-a to run the new config", async () => ((await applied("plant-a")()) === 10 ? true : undefined));
      const { devices: all } = await client.devices();
      for (const d of all.filter((x) => x.site === "plant-a")) expect({ device: d.device, cfg: d.cfgVersion, desired: d.cfgDesired, drift: d.drift }).toEqual({ device: d.device, cfg: revision, desired: revision, drift: false });
      for (const d of all.filter((x) => x.site === "plant-b")) expect({ device: d.device, cfg: d.cfgVersion, desired: d.cfgDesired }).toEqual({ device: d.device, cfg: 0, desired: null });
      // and in the devices themselves, not only in what the fleet was told
      for (const [k, runner] of devices) expect({ k, cv: (await runner.stats())?.configVersion }).toEqual({ k, cv: k.startsWith("plant-a/") ? revision : 0 });
      const metrics = await (await fetch(`${fleetUrl}/metrics`)).text();
      expect(metrics).toMatch(/vw_fleet_config_drift\{site="plant-a"\} 0/);
    }, 240_000);
  });
}
