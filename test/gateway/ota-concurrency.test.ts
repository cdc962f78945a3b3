// Issue 15, per-site concurrency limit: 10 devices offered one release at once with
// ota.maxConcurrentDownloads 3. The others are told to retry later (w), never refused; no more
// than 3 devices are ever being served at once (each device's span from its first chunk to its
// "done" status lies inside the gateway's slot for it, so spans can only overlap where slots do),
// and all 10 finish with the right image. A slot whose device went silent is freed by the idle
// timeout, so a device that vanished mid-download cannot hold the site's slots forever.
import { afterAll, beforeAll, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMosquitto, type MosquittoHandle } from "../helpers/services.js";
import { OtaTestDevice, sha256Hex } from "./helpers/ota-device.js";
import { SITE, makeImage, makeKeys, makeRelease, metric, startOtaGateway, type OtaGateway } from "./helpers/ota-fixture.js";

const DEVICES = 10;
const MAX_CONCURRENT = 3;
let broker: MosquittoHandle;
let gw: OtaGateway;
const dir = mkdtempSync(join(tmpdir(), "vw-ota-conc-"));
const devices: OtaTestDevice[] = [];
const image = makeImage(16_384, 11);
let releaseDir: string;

beforeAll(async () => {
  broker = await startMosquitto();
  const keys = makeKeys(join(dir, "keys"));
  releaseDir = makeRelease(join(dir, "release-1.0.0"), keys, "1.0.0", image);
  gw = await startOtaGateway({
    mqttUrl: broker.url,
    dir,
    publicFile: keys.publicFile,
    // ~0.8 s per download, so the downloads would overlap if the limit let them
    ota: { maxConcurrentDownloads: MAX_CONCURRENT, chunkBytes: 512, deviceBytesPerS: 20_000, deviceBurstBytes: 1024, busyRetryMs: 200, slotIdleTimeoutMs: 1500 },
  });
}, 60_000);

afterAll(async () => {
  for (const device of devices) await device.close();
  await gw?.stop();
  await broker?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** The largest number of [start, end] spans that contain one instant. */
function maxOverlap(spans: Array<[number, number]>): number {
  const events = spans.flatMap(([start, end]) => [[start, 1] as const, [end, -1] as const]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let max = 0;
  for (const [, delta] of events) max = Math.max(max, (now += delta));
  return max;
}

it(`serves at most ${MAX_CONCURRENT} of ${DEVICES} devices at once, tells the rest to wait, and all finish`, { timeout: 120_000 }, async () => {
  for (let i = 0; i < DEVICES; i++) {
    const device = await OtaTestDevice.connect(broker.url, SITE, `press-${i}`);
    devices.push(device);
    await device.status("idle");
  }
  // --all: every device the gateway has seen at the site
  const seenAll = async () => ((await (await fetch(`${gw.url}/ota/status`)).json()) as { devices: unknown[] }).devices.length === DEVICES;
  for (let i = 0; i < 200 && !(await seenAll()); i++) await new Promise((r) => setTimeout(r, 50));
  const response = await fetch(`${gw.url}/ota/offer`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ site: SITE, all: true, dir: releaseDir }) });
  expect(response.status).toBe(200);
  expect(((await response.json()) as { devices: string[] }).devices).toHaveLength(DEVICES);

  const images = await Promise.all(
    devices.map(async (device) => {
      const offer = await device.waitForOffer();
      const downloaded = await device.download(offer, { reportProgress: true, deadlineMs: 90_000 });
      await device.status("verifying", offer.manifest.rv, downloaded.length);
      return downloaded;
    }),
  );
  for (const downloaded of images) expect(sha256Hex(downloaded)).toBe(sha256Hex(image));
  const spans = devices.map((d) => [d.firstChunkAtMs as number, d.doneAtMs as number] as [number, number]);
  expect(maxOverlap(spans)).toBeLessThanOrEqual(MAX_CONCURRENT);
  // the limit was reached (otherwise the test proves nothing): devices were told to wait for a slot
  expect(await metric(gw.url, "vw_gateway_ota_busy_replies_total", { cause: "slots" })).toBeGreaterThan(0);
  expect(devices.filter((d) => d.busyReplies > 0).length).toBeGreaterThanOrEqual(DEVICES - MAX_CONCURRENT);
  expect(devices.every((d) => d.replies.every((r) => r.e === undefined))).toBe(true);
  // every slot is back once the devices said they were done
  for (let i = 0; i < 100 && (await metric(gw.url, "vw_gateway_ota_downloading")) !== 0; i++) await new Promise((r) => setTimeout(r, 50));
  expect(await metric(gw.url, "vw_gateway_ota_downloading")).toBe(0);
});

it("frees the slot of a device that stopped asking (idle timeout), so the others are not blocked", { timeout: 60_000 }, async () => {
  const silent = await Promise.all([0, 1, 2].map(async (i) => await OtaTestDevice.connect(broker.url, SITE, `ghost-${i}`)));
  devices.push(...silent);
  // each takes a slot with one chunk and then vanishes (no status, no more requests)
  for (const ghost of silent) expect((await ghost.request({ v: 1, d: ghost.device, b: ghost.boot, rv: "1.0.0", o: 0, n: 512 }))?.c).toBeDefined();
  const late = await OtaTestDevice.connect(broker.url, SITE, "late-1");
  devices.push(late);
  const first = await late.request({ v: 1, d: "late-1", b: late.boot, rv: "1.0.0", o: 0, n: 512 });
  expect(first?.w).toBeGreaterThan(0); // all slots held by the silent ones
  const offer = { manifest: { rv: "1.0.0", sz: image.length } as never, manifestBytes: new Uint8Array(), signature: new Uint8Array(), chunkBytes: 512 };
  const downloaded = await late.download(offer, { deadlineMs: 30_000 });
  expect(sha256Hex(downloaded)).toBe(sha256Hex(image));
  expect(await metric(gw.url, "vw_gateway_ota_slots_idle_released_total")).toBeGreaterThanOrEqual(1);
});
