// Issue 15: "200 devices at a site cost one cloud download". The release sits on a small HTTP
// server (node:http, the peer; it counts the requests it answers). Offering it to 200 devices, and
// again to more devices, and twice at the same moment, costs one fetch of the three files; the
// devices download from the gateway's copy. A release whose image was tampered with on the server
// is refused (never stored, never offered); a server that answers 404 is a named fetch failure.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { startMosquitto, type MosquittoHandle } from "../helpers/services.js";
import { OtaTestDevice, sha256Hex } from "./helpers/ota-device.js";
import { SITE, makeImage, makeKeys, makeRelease, metric, startOtaGateway, type OtaGateway } from "./helpers/ota-fixture.js";
import { otaFilter } from "../../protocol/ota.js";

let broker: MosquittoHandle;
let gw: OtaGateway;
let server: Server;
let baseUrl: string;
const dir = mkdtempSync(join(tmpdir(), "vw-ota-fetch-"));
const devices: OtaTestDevice[] = [];
const image = makeImage(30_000, 5);
/** path -> requests answered */
const requests = new Map<string, number>();
/** release folder name -> files served under /release/<name>/ */
const served = new Map<string, Record<string, Buffer>>();

beforeAll(async () => {
  broker = await startMosquitto();
  const keys = makeKeys(join(dir, "keys"));
  const good = makeRelease(join(dir, "r-3.1.0"), keys, "3.1.0", image);
  const read = (d: string) => Object.fromEntries(["image.bin", "manifest.cbor", "manifest.sig"].map((f) => [f, readFileSync(join(d, f))]));
  served.set("3.1.0", read(good));
  const tampered = read(makeRelease(join(dir, "r-3.2.0"), keys, "3.2.0", makeImage(30_000, 6)));
  const tamperedImage = tampered["image.bin"] as Buffer;
  tamperedImage[29_999] = (tamperedImage[29_999] as number) ^ 0x80;
  served.set("3.2.0-tampered", tampered);
  server = createServer((request, response) => {
    const path = request.url ?? "/";
    requests.set(path, (requests.get(path) ?? 0) + 1);
    const match = /^\/release\/([^/]+)\/([a-z.]+)$/.exec(path);
    const file = match ? served.get(match[1] as string)?.[match[2] as string] : undefined;
    if (!file) {
      response.writeHead(404).end("not found");
      return;
    }
    response.writeHead(200, { "content-type": "application/octet-stream", "content-length": file.length }).end(file);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  gw = await startOtaGateway({ mqttUrl: broker.url, dir, publicFile: keys.publicFile, ota: { deviceBytesPerS: 1_000_000, deviceBurstBytes: 65536 } });
}, 60_000);

afterAll(async () => {
  for (const device of devices) await device.close();
  await gw?.stop();
  await new Promise((resolve) => server?.close(resolve));
  await broker?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function offer(body: Record<string, unknown>): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${gw.url}/ota/offer`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ site: SITE, ...body }) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** device -> offered payload length, for every offer retained at the site */
async function retainedOffers(): Promise<Map<string, number>> {
  const client = await mqtt.connectAsync(broker.url, { clientId: `probe-${Math.random().toString(16).slice(2)}`, clean: true });
  const seen = new Map<string, number>();
  const marker = `probe/${client.options.clientId}`;
  const done = new Promise<void>((resolve) =>
    client.on("message", (topic, payload, packet) => {
      if (topic === marker) resolve();
      else if (packet.retain) seen.set(topic.split("/")[3] as string, payload.length);
    }),
  );
  await client.subscribeAsync([otaFilter("ota", SITE), marker], { qos: 0 });
  await client.publishAsync(marker, "m", { qos: 1 });
  await done;
  await client.endAsync();
  return seen;
}

const fetchesOf = (name: string) => ["image.bin", "manifest.cbor", "manifest.sig"].map((f) => requests.get(`/release/${name}/${f}`) ?? 0);

describe("one fetch per release, whatever the number of devices", () => {
  it("offers to 200 devices with one GET of each file", { timeout: 60_000 }, async () => {
    const ids = Array.from({ length: 200 }, (_, i) => `node-${i}`);
    const result = await offer({ devices: ids, url: `${baseUrl}/release/3.1.0` });
    expect(result.status, JSON.stringify(result.body)).toBe(200);
    expect(result.body).toMatchObject({ version: "3.1.0", stored: true });
    expect(fetchesOf("3.1.0")).toEqual([1, 1, 1]);
    const retained = await retainedOffers();
    expect(ids.filter((id) => (retained.get(id) ?? 0) > 0)).toHaveLength(200);
    expect(await metric(gw.url, "vw_gateway_ota_offered_total")).toBe(200);
  });

  it("offering it again, and twice at once, fetches nothing more", async () => {
    const [a, b] = await Promise.all([offer({ devices: ["late-1"], url: `${baseUrl}/release/3.1.0` }), offer({ devices: ["late-2"], url: `${baseUrl}/release/3.1.0/` })]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(fetchesOf("3.1.0")).toEqual([1, 1, 1]);
    expect(await metric(gw.url, "vw_gateway_ota_release_fetches_total", { outcome: "ok" })).toBe(1);
  });

  it("devices download the gateway's copy, byte for byte", async () => {
    for (const id of ["node-0", "node-199"]) {
      const device = await OtaTestDevice.connect(broker.url, SITE, id);
      devices.push(device);
      const downloaded = await device.download(await device.waitForOffer());
      expect(sha256Hex(downloaded)).toBe(sha256Hex(image));
    }
    expect(fetchesOf("3.1.0")).toEqual([1, 1, 1]);
  });
});

describe("a bad release at the URL", () => {
  it("a tampered image is refused (422, bad hash), never stored or offered", async () => {
    const result = await offer({ devices: ["victim-1"], url: `${baseUrl}/release/3.2.0-tampered` });
    expect(result.status).toBe(422);
    expect(result.body.message).toMatch(/^release refused: bad hash: image SHA-256 [0-9a-f]{64} is not the manifest's/);
    expect((await retainedOffers()).has("victim-1")).toBe(false);
    const status = (await (await fetch(`${gw.url}/ota/status`)).json()) as { releases: Array<{ version: string }> };
    expect(status.releases.map((r) => r.version)).toEqual(["3.1.0"]);
    expect(await metric(gw.url, "vw_gateway_ota_releases_refused_total", { problem: "bad hash" })).toBe(1);
  });

  it("a missing release is a named fetch failure (502), counted", async () => {
    const result = await offer({ devices: ["victim-2"], url: `${baseUrl}/release/9.9.9` });
    expect(result.status).toBe(502);
    expect(result.body).toMatchObject({ code: "VW_OTA_FETCH_FAILED" });
    expect(result.body.message).toMatch(/GET http:\/\/127\.0\.0\.1:\d+\/release\/9\.9\.9\/manifest\.cbor: HTTP 404/);
    expect(await metric(gw.url, "vw_gateway_ota_release_fetches_total", { outcome: "failed" })).toBe(1);
    expect((await retainedOffers()).has("victim-2")).toBe(false);
  });
});
