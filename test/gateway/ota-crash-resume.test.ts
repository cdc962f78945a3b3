// Issue 15: the gateway SIGKILLed mid-distribution (the real CLI as a child process) and started
// again: the release store is on disk, the offers are retained on the broker, and the devices
// simply retry their requests, so every download resumes where it was and finishes with the right
// image, without anyone offering again. The release keys and the offer token never reach its log.
import { afterAll, beforeAll, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, httpOk, ManagedProcess, startMosquitto, type MosquittoHandle } from "../helpers/services.js";
import { runCli } from "../helpers/run-cli.js";
import { testConfig, writeConfig } from "./helpers/gateway-fixture.js";
import { OtaTestDevice, sha256Hex } from "./helpers/ota-device.js";
import { SITE, makeImage, makeKeys, makeRelease, metric, type ReleaseKeys } from "./helpers/ota-fixture.js";

const DEVICES = 3;
let broker: MosquittoHandle;
let child: ManagedProcess | undefined;
let keys: ReleaseKeys;
const dir = mkdtempSync(join(tmpdir(), "vw-ota-crash-"));
const devices: OtaTestDevice[] = [];
const image = makeImage(48_000, 21);
const TOKEN = "ota-offer-token-3f9a1c77e2";

beforeAll(async () => {
  broker = await startMosquitto();
  keys = makeKeys(join(dir, "keys"));
}, 60_000);

afterAll(async () => {
  for (const device of devices) await device.close();
  await child?.dispose();
  await broker?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

it("resumes every download after a SIGKILL mid-distribution, with no new offer", { timeout: 180_000 }, async () => {
  const releaseDir = makeRelease(join(dir, "release-2.0.0"), keys, "2.0.0", image);
  const tokenFile = join(dir, "ota.token");
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  const httpPort = await freePort();
  const config = testConfig({
    mqttUrl: broker.url,
    sinkUrl: "http://127.0.0.1:9/v1/batches",
    dir,
    overrides: {
      http: { port: httpPort },
      logLevel: "debug",
      // slow downloads (~6 s each) so the kill lands in the middle of all of them
      ota: { releasePublicKeyFile: keys.publicFile, offerTokenFile: tokenFile, chunkBytes: 1024, deviceBytesPerS: 8000, deviceBurstBytes: 2048 },
    },
  });
  const configPath = writeConfig(config, dir);
  const gatewayUrl = `http://127.0.0.1:${httpPort}`;
  child = new ManagedProcess({
    name: "gateway",
    command: process.execPath,
    args: () => ["--import", "tsx", "test/gateway/helpers/gateway-cli-entry.ts", "gateway", "--config", configPath],
    ready: () => httpOk(`${gatewayUrl}/healthz`, [200]),
  });
  await child.start();
  for (let i = 0; i < DEVICES; i++) devices.push(await OtaTestDevice.connect(broker.url, SITE, `mill-${i}`));

  // without the token the gateway refuses the offer, even from this host
  const refused = await runCli(["ota", "offer", "--site", SITE, "--device", "mill-0", "--release", releaseDir, "--gateway", gatewayUrl]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/HTTP 401\): a valid bearer token is required/);
  const offered = await runCli(["ota", "offer", "--site", SITE, "--device", devices.map((d) => d.device).join(","), "--release", releaseDir, "--gateway", gatewayUrl, "--token-file", tokenFile]);
  expect(offered.code, offered.stderr).toBe(0);

  // a short reply timeout: while the gateway is down, devices keep asking
  const downloads = devices.map(async (device) => {
    const offer = await device.waitForOffer();
    const downloaded = await device.download(offer, { replyTimeoutMs: 300, deadlineMs: 120_000 });
    return downloaded;
  });
  const third = image.length / 3;
  const deadline = Date.now() + 60_000;
  while (!devices.every((d) => d.progressBytes >= third) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await child.kill();
  const atKill = devices.map((d) => d.progressBytes);
  // mid-distribution: every device has part of the image, none all of it
  for (const progress of atKill) {
    expect(progress).toBeGreaterThanOrEqual(third);
    expect(progress).toBeLessThan(image.length);
  }
  await new Promise((r) => setTimeout(r, 1000));
  await child.start();

  const images = await Promise.all(downloads);
  for (const downloaded of images) expect(sha256Hex(downloaded)).toBe(sha256Hex(image));
  // the new process offered nothing: the retained offers and the stored release carried it
  expect(await metric(gatewayUrl, "vw_gateway_ota_offered_total")).toBe(0);
  expect(await metric(gatewayUrl, "vw_gateway_ota_releases_stored")).toBe(1);
  // it served the rest: at least what was missing at the kill (resumed, not restarted from 0)
  const missing = atKill.reduce((sum, progress) => sum + (image.length - progress), 0);
  const served = await metric(gatewayUrl, "vw_gateway_ota_bytes_served_total");
  expect(served).toBeGreaterThanOrEqual(missing);
  expect(served).toBeLessThan(DEVICES * image.length);
  // it re-learnt the offers from the broker
  const status = (await (await fetch(`${gatewayUrl}/ota/status`)).json()) as { devices: Array<{ device: string; offered?: string }> };
  expect(status.devices.map((d) => [d.device, d.offered])).toEqual(devices.map((d) => [d.device, "2.0.0"]));

  await child.stop();
  const log = child.log();
  expect(log).toContain("ota releases loaded");
  const body = (pem: string) => pem.split("\n").filter((l) => l && !l.startsWith("-----")).join("");
  expect(log).not.toContain(body(keys.privatePem).slice(10, 50));
  expect(log).not.toContain(body(readFileSync(keys.publicFile, "utf8")).slice(30, 70));
  expect(log).not.toContain(TOKEN);
});
