// Issue 15, gateway distribution: a signed release offered with `vibewatch ota offer` reaches a
// device (retained offer, valid signature) that downloads the whole image through otareq/otadata,
// byte for byte; a tampered release (signature, hash, size) is refused with a clear error and
// never offered; bad chunk requests get `e` and are counted by reason in /metrics; `vibewatch ota
// status` shows the states the devices report; the release keys never reach the gateway's log.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { startMosquitto, type MosquittoHandle } from "../helpers/services.js";
import { runCli } from "../helpers/run-cli.js";
import { OtaTestDevice, sha256Hex } from "./helpers/ota-device.js";
import { SITE, makeImage, makeKeys, makeRelease, metric, startOtaGateway, type OtaGateway, type ReleaseKeys } from "./helpers/ota-fixture.js";
import { otaFilter } from "../../protocol/ota.js";
import { encodeCbor } from "../../protocol/cbor-encoder.js";

let broker: MosquittoHandle;
let gw: OtaGateway;
let keys: ReleaseKeys;
const dir = mkdtempSync(join(tmpdir(), "vw-ota-dist-"));
const devices: OtaTestDevice[] = [];
const image = makeImage(20_000, 3);
let releaseDir: string;

beforeAll(async () => {
  broker = await startMosquitto();
  keys = makeKeys(join(dir, "keys"));
  releaseDir = makeRelease(join(dir, "release-0.3.0"), keys, "0.3.0", image);
  gw = await startOtaGateway({ mqttUrl: broker.url, dir, publicFile: keys.publicFile, ota: { chunkBytes: 512, deviceBytesPerS: 1_000_000, deviceBurstBytes: 65536 } });
}, 60_000);

afterAll(async () => {
  for (const device of devices) await device.close();
  await gw?.stop();
  await broker?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function device(id: string): Promise<OtaTestDevice> {
  const d = await OtaTestDevice.connect(broker.url, SITE, id);
  devices.push(d);
  return d;
}

/** Every retained offer on the broker at this site: device -> payload length (a fresh subscriber sees retained messages only). */
async function retainedOffers(): Promise<Map<string, number>> {
  const client = await mqtt.connectAsync(broker.url, { clientId: `probe-${Math.random().toString(16).slice(2)}`, clean: true });
  const seen = new Map<string, number>();
  client.on("message", (topic, payload, packet) => {
    if (packet.retain) seen.set(topic.split("/")[3] as string, payload.length);
  });
  await client.subscribeAsync(otaFilter("ota", SITE), { qos: 0 });
  // a marker published after the subscribe arrives after every retained message
  await client.subscribeAsync(`probe/${client.options.clientId}`);
  const marker = new Promise<void>((resolve) => client.on("message", (topic) => topic.startsWith("probe/") && resolve()));
  await client.publishAsync(`probe/${client.options.clientId}`, "m", { qos: 1 });
  await marker;
  await client.endAsync();
  return seen;
}

function tampered(name: string, change: (dir: string) => void): string {
  const copy = join(dir, name);
  mkdirSync(copy);
  for (const file of ["image.bin", "manifest.cbor", "manifest.sig"]) copyFileSync(join(releaseDir, file), join(copy, file));
  change(copy);
  return copy;
}

describe("offer and download", () => {
  it("a device downloads the whole offered image through otareq/otadata, and its SHA-256 is the release's", async () => {
    const pump = await device("pump-1");
    await pump.status("idle", undefined, undefined, undefined, "0.2.0");
    const offered = await runCli(["ota", "offer", "--site", SITE, "--device", "pump-1", "--release", releaseDir, "--public-key", keys.publicFile, "--gateway", gw.url]);
    expect(offered.code, offered.stderr).toBe(0);
    expect(offered.stdout).toMatch(/offered 0\.3\.0 to 1 device\(s\) at site-a \(release stored on the gateway\): pump-1/);
    const offer = await pump.waitForOffer();
    expect(pump.signatureValid(offer, keys.publicPem)).toBe(true);
    expect(offer.chunkBytes).toBe(512);
    expect([offer.manifest.rv, offer.manifest.sz, offer.manifest.bd]).toEqual(["0.3.0", image.length, "sim"]);
    const downloaded = await pump.download(offer, { reportProgress: true });
    expect(sha256Hex(downloaded)).toBe(sha256Hex(image));
    expect(Buffer.from(offer.manifest.h).toString("hex")).toBe(sha256Hex(image));
    expect(await metric(gw.url, "vw_gateway_ota_chunks_served_total")).toBeGreaterThanOrEqual(Math.ceil(image.length / 512));
    expect(await metric(gw.url, "vw_gateway_ota_bytes_served_total")).toBeGreaterThanOrEqual(image.length);
    expect(await metric(gw.url, "vw_gateway_ota_offered_total")).toBe(1);
    await pump.status("verifying", "0.3.0", image.length);
  });

  it("`vibewatch ota status` prints the states the devices report, and counts their outcomes", async () => {
    const a = await device("fan-1");
    const b = await device("fan-2");
    await a.status("pending", "0.3.0", image.length);
    await a.status("confirmed", "0.3.0", image.length, undefined, "0.3.0");
    await b.status("rolledback", "0.3.0", image.length, "self-test: sensor: who_am_i 0x00", "0.2.0");
    const expectStatus = async () => {
      const result = await runCli(["ota", "status", "--gateway", gw.url, "--json"]);
      const report = JSON.parse(result.stdout) as { devices: Array<Record<string, unknown>> };
      return report.devices;
    };
    let rows: Array<Record<string, unknown>> = [];
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      rows = await expectStatus();
      if (rows.find((r) => r.device === "fan-1")?.state === "confirmed" && rows.find((r) => r.device === "fan-2")?.state === "rolledback") break;
    }
    expect(rows.find((r) => r.device === "fan-1")).toMatchObject({ running: "0.3.0", slot: 0, state: "confirmed", target: "0.3.0", online: true });
    expect(rows.find((r) => r.device === "fan-2")).toMatchObject({ running: "0.2.0", state: "rolledback", error: "self-test: sensor: who_am_i 0x00" });
    expect(rows.find((r) => r.device === "pump-1")).toMatchObject({ state: "verifying", offered: "0.3.0", progressBytes: image.length, sizeBytes: image.length });
    const table = await runCli(["ota", "status", "--gateway", gw.url]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/fan-2\s+online\s+0\.2\.0\s+0\s+rolledback\s+0\.3\.0\s+100%\s+-\s+self-test: sensor: who_am_i 0x00/);
    expect(table.stdout).toMatch(/releases stored: 0\.3\.0 \(20000 B, sim, min 0\.0\.0\)/);
    expect(await metric(gw.url, "vw_gateway_ota_installed_total")).toBe(1);
    expect(await metric(gw.url, "vw_gateway_ota_confirmed_total")).toBe(1);
    expect(await metric(gw.url, "vw_gateway_ota_rolled_back_total", { reason: "selfTestSensor" })).toBe(1);
  });
});

describe("a tampered release is refused and never offered", () => {
  const cases: Array<[string, (d: string) => void, RegExp]> = [
    [
      "bad signature",
      (d) => {
        const sig = readFileSync(join(d, "manifest.sig"));
        sig[0] = (sig[0] as number) ^ 0x40;
        writeFileSync(join(d, "manifest.sig"), sig);
      },
      /bad signature: the manifest's signature does not verify/,
    ],
    [
      "wrong hash",
      (d) => {
        const bytes = readFileSync(join(d, "image.bin"));
        bytes[100] = (bytes[100] as number) ^ 1;
        writeFileSync(join(d, "image.bin"), bytes);
      },
      /bad hash: image SHA-256 [0-9a-f]+ is not the manifest's/,
    ],
    ["wrong size", (d) => writeFileSync(join(d, "image.bin"), Buffer.concat([readFileSync(join(d, "image.bin")), Buffer.of(0)])), /wrong size: image is 20001 bytes, the manifest says 20000/],
  ];
  for (const [name, change, message] of cases) {
    it(`${name}: the gateway refuses it (and the CLI names the problem before upload when it can)`, async () => {
      const bad = tampered(`tampered-${name.replace(" ", "-")}`, change);
      const target = `victim-${name.replace(" ", "-")}`;
      // without --public-key the CLI checks size and hash only: a bad signature reaches the gateway, which refuses it
      const cli = await runCli(["ota", "offer", "--site", SITE, "--device", target, "--release", bad, "--gateway", gw.url]);
      expect(cli.code).toBe(1);
      expect(cli.stderr).toMatch(message);
      // uploaded as is, straight to the gateway: refused there too (422), with the same words
      const body = encodeCbor({ site: SITE, devices: [target], image: readFileSync(join(bad, "image.bin")), manifest: readFileSync(join(bad, "manifest.cbor")), signature: readFileSync(join(bad, "manifest.sig")) } as never, 64 * 1024);
      const response = await fetch(`${gw.url}/ota/offer`, { method: "POST", headers: { "content-type": "application/cbor" }, body });
      expect(response.status).toBe(422);
      const reply = (await response.json()) as { code: string; message: string };
      expect(reply.code).toBe("VW_OTA_RELEASE_REFUSED");
      expect(reply.message).toMatch(message);
      expect((await retainedOffers()).has(target)).toBe(false);
    });
  }

  it("counts each refusal by problem", async () => {
    expect(await metric(gw.url, "vw_gateway_ota_releases_refused_total", { problem: "bad signature" })).toBeGreaterThanOrEqual(2);
    expect(await metric(gw.url, "vw_gateway_ota_releases_refused_total", { problem: "bad hash" })).toBe(1);
    expect(await metric(gw.url, "vw_gateway_ota_releases_refused_total", { problem: "wrong size" })).toBe(1);
    // the good release is the only one stored
    expect(readFileSync(join(dir, "ota-releases", "0.3.0", "manifest.cbor")).equals(readFileSync(join(releaseDir, "manifest.cbor")))).toBe(true);
  });
});

describe("bad chunk requests get e, counted by reason", () => {
  it("range outside the image, unknown version, topic/device mismatch, n above cs, garbage", async () => {
    const probe = await device("probe-1");
    const base = { v: 1, d: "probe-1", b: 7, rv: "0.3.0" };
    const before = async (reason: string) => await metric(gw.url, "vw_gateway_ota_bad_requests_total", { reason });
    const counts = { bad_range: await before("bad_range"), unknown_release: await before("unknown_release"), device_mismatch: await before("device_mismatch"), too_large: await before("too_large"), malformed: await before("malformed") };

    const outside = await probe.request({ ...base, o: image.length - 100, n: 200 });
    expect(outside?.e).toBe(`bad range: [${image.length - 100}, ${image.length + 100}) outside the image's ${image.length} bytes`);
    const unknown = await probe.request({ ...base, rv: "9.9.9", o: 0, n: 512 });
    expect(unknown?.e).toBe("no release 9.9.9");
    expect(unknown?.rv).toBe("9.9.9");
    const mismatch = await probe.request({ ...base, d: "pump-1", o: 0, n: 512 });
    expect(mismatch?.e).toBe('device mismatch: request names "pump-1" on the topic of "probe-1"');
    const tooLarge = await probe.request({ ...base, o: 0, n: 513 });
    expect(tooLarge?.e).toBe("chunk too large: n 513 above the offer's cs 512");
    expect(tooLarge?.c).toBeUndefined();
    await probe.client.publishAsync(`vw/v1/${SITE}/probe-1/otareq`, Buffer.from("{not cbor"), { qos: 0 });
    const until = Date.now() + 5000;
    while (!probe.replies.some((r) => r.e?.startsWith("bad request:")) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(probe.replies.find((r) => r.e?.startsWith("bad request:"))?.e).toMatch(/^bad request: cbor at byte/);

    expect(await before("bad_range")).toBe(counts.bad_range + 1);
    expect(await before("unknown_release")).toBe(counts.unknown_release + 1);
    expect(await before("device_mismatch")).toBe(counts.device_mismatch + 1);
    expect(await before("too_large")).toBe(counts.too_large + 1);
    expect(await before("malformed")).toBe(counts.malformed + 1);
    // and a good request right after is served
    const good = await probe.request({ ...base, o: 512, n: 512 });
    expect(Buffer.from(good?.c as Uint8Array).equals(Buffer.from(image.subarray(512, 1024)))).toBe(true);
  });
});

describe("withdraw and who may offer", () => {
  it("withdraw empties the retained offer", async () => {
    expect((await retainedOffers()).get("pump-1")).toBeGreaterThan(0);
    const result = await runCli(["ota", "withdraw", "--site", SITE, "--device", "pump-1", "--gateway", gw.url]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/withdrew the offer of 1 device\(s\) at site-a: pump-1/);
    expect((await retainedOffers()).has("pump-1")).toBe(false);
  });

  it("refuses an offer for another site, and a request without devices, by name", async () => {
    const other = await runCli(["ota", "offer", "--site", "site-b", "--device", "x-1", "--release", releaseDir, "--gateway", gw.url]);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/HTTP 400\): this gateway serves site "site-a", not "site-b"/);
    const response = await fetch(`${gw.url}/ota/offer`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ site: SITE, dir: releaseDir }) });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toMatch(/devices .* or all: true is required/);
  });

  it("never writes a key to the log", () => {
    const log = gw.log();
    expect(log).toContain("release stored");
    const body = (pem: string) => pem.split("\n").filter((l) => l && !l.startsWith("-----")).join("");
    expect(log).not.toContain(body(keys.privatePem).slice(10, 50));
    expect(log).not.toContain(body(keys.publicPem).slice(30, 70));
  });
});
