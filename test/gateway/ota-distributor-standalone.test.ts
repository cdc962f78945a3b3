// Issue 15: the distributor started on its own (as the simulated-fleet tests start it, without a
// gateway): OtaDistributor.start({ mqttUrl, site, storeDir, releasePublicKeyPem, limits }). With one
// slot, a device reporting a state other than "downloading" frees it at once (no idle wait): the
// next device is served while the first one's slot would otherwise still be held for a minute.
// The store is verified again at start: a stored release damaged on disk is set aside, not served.
import { afterAll, beforeAll, expect, it } from "vitest";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMosquitto, type MosquittoHandle } from "../helpers/services.js";
import { OtaDistributor } from "../../gateway/ota/ota-distributor.js";
import { readReleaseParts } from "../../gateway/ota/release-files.js";
import { OtaTestDevice, sha256Hex } from "./helpers/ota-device.js";
import { SITE, makeImage, makeKeys, makeRelease, type ReleaseKeys } from "./helpers/ota-fixture.js";

let broker: MosquittoHandle;
let keys: ReleaseKeys;
let ota: OtaDistributor | undefined;
const dir = mkdtempSync(join(tmpdir(), "vw-ota-alone-"));
const devices: OtaTestDevice[] = [];
const image = makeImage(8192, 9);

beforeAll(async () => {
  broker = await startMosquitto();
  keys = makeKeys(join(dir, "keys"));
}, 60_000);

afterAll(async () => {
  for (const device of devices) await device.close();
  await ota?.stop();
  await broker?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

it("frees a slot as soon as the device's status leaves downloading", { timeout: 60_000 }, async () => {
  ota = await OtaDistributor.start({
    mqttUrl: broker.url,
    site: SITE,
    storeDir: join(dir, "store"),
    releasePublicKeyPem: keys.publicPem,
    limits: { maxConcurrentDownloads: 1, slotIdleTimeoutMs: 60_000, chunkBytes: 1024, deviceBurstBytes: 65536, deviceBytesPerS: 1_000_000, busyRetryMs: 100 },
  });
  const release = makeRelease(join(dir, "r-0.5.0"), keys, "0.5.0", image);
  const [first, second] = await Promise.all([OtaTestDevice.connect(broker.url, SITE, "cell-1"), OtaTestDevice.connect(broker.url, SITE, "cell-2")]);
  devices.push(first, second);
  expect(await ota.offer({ release: { parts: readReleaseParts(release) }, devices: ["cell-1", "cell-2"] })).toEqual({ version: "0.5.0", devices: ["cell-1", "cell-2"], stored: true });
  const got = await first.download(await first.waitForOffer());
  expect(sha256Hex(got)).toBe(sha256Hex(image));
  // the slot is cell-1's (it may still ask): cell-2 waits
  expect((await second.request({ v: 1, d: "cell-2", b: second.boot, rv: "0.5.0", o: 0, n: 1024 }))?.w).toBeGreaterThan(0);
  await first.status("verifying", "0.5.0", image.length);
  // served long before the 60 s idle timeout
  const downloaded = await second.download(await second.waitForOffer(), { deadlineMs: 10_000 });
  expect(sha256Hex(downloaded)).toBe(sha256Hex(image));
  expect(ota.status().devices.find((d) => d.device === "cell-1")).toMatchObject({ state: "verifying", downloading: false, offered: "0.5.0" });
  await ota.stop();
  ota = undefined;
});

it("sets aside a stored release that no longer verifies at start, and serves only good ones", { timeout: 60_000 }, async () => {
  const stored = join(dir, "store", "0.5.0", "image.bin");
  const bytes = readFileSync(stored);
  bytes[0] = (bytes[0] as number) ^ 0xff;
  writeFileSync(stored, bytes);
  ota = await OtaDistributor.start({ mqttUrl: broker.url, site: SITE, storeDir: join(dir, "store"), releasePublicKeyPem: keys.publicPem });
  expect(ota.store.versions()).toEqual([]);
  expect(readdirSync(join(dir, "store")).some((name) => name.startsWith(".refused-0.5.0-"))).toBe(true);
  expect(await ota.metrics.value("vw_gateway_ota_releases_refused_total", { problem: "bad hash" })).toBe(1);
  const probe = await OtaTestDevice.connect(broker.url, SITE, "cell-3");
  devices.push(probe);
  expect((await probe.request({ v: 1, d: "cell-3", b: 1, rv: "0.5.0", o: 0, n: 512 }))?.e).toBe("no release 0.5.0");
});

it("refuses to start with a release key that is not a P-256 public key", async () => {
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ type: "spki", format: "pem" }).toString();
  await expect(OtaDistributor.start({ mqttUrl: broker.url, site: SITE, storeDir: join(dir, "store-rsa"), releasePublicKeyPem: rsa })).rejects.toThrow("bad key: the release key must be ECDSA P-256 (got rsa)");
  await expect(OtaDistributor.start({ mqttUrl: broker.url, site: SITE, storeDir: join(dir, "store-rsa"), releasePublicKeyPem: "not a key" })).rejects.toThrow(/^bad key: not a PEM public key/);
});
