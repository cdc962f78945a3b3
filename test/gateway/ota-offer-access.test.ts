// Issue 15: who may offer. The ops server has no authentication of its own; opened to the network
// (http.host 0.0.0.0, e.g. for Prometheus) it must still take OTA offers and withdrawals only from
// this host unless ota.offerTokenFile is set, while /ota/status stays readable like /metrics.
// Needs a non-loopback interface to call from (this machine's own address).
import { afterAll, beforeAll, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { startMosquitto, type MosquittoHandle } from "../helpers/services.js";
import { SITE, makeImage, makeKeys, makeRelease, startOtaGateway, type OtaGateway } from "./helpers/ota-fixture.js";

let broker: MosquittoHandle;
let gw: OtaGateway;
const dir = mkdtempSync(join(tmpdir(), "vw-ota-access-"));
let releaseDir: string;

/** An address of this machine that is not loopback: a request from it is a remote caller's. */
function externalAddress(): string {
  for (const entries of Object.values(networkInterfaces())) for (const entry of entries ?? []) if (entry.family === "IPv4" && !entry.internal) return entry.address;
  throw new Error("this test needs a non-loopback IPv4 interface to call from");
}

beforeAll(async () => {
  broker = await startMosquitto();
  const keys = makeKeys(join(dir, "keys"));
  releaseDir = makeRelease(join(dir, "r-0.9.0"), keys, "0.9.0", makeImage(4096, 2));
  // every interface, as an ops server opened up for a remote Prometheus would be
  gw = await startOtaGateway({ mqttUrl: broker.url, dir, publicFile: keys.publicFile, http: { host: "0.0.0.0" } });
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await broker?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

it("refuses POST /ota/offer and /ota/withdraw from another host without a token, and answers GET /ota/status", async () => {
  const remote = `http://${externalAddress()}:${gw.gateway.httpPort}`;
  const body = JSON.stringify({ site: SITE, devices: ["dev-1"], dir: releaseDir });
  for (const path of ["/ota/offer", "/ota/withdraw"]) {
    const response = await fetch(`${remote}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body });
    expect(response.status, path).toBe(403);
    expect(((await response.json()) as { message: string }).message).toMatch(/accepted from this host only \(set ota\.offerTokenFile/);
  }
  expect((await fetch(`${remote}/ota/status`)).status).toBe(200);
  expect(gw.gateway.ota?.store.versions()).toEqual([]);
  // the same request from this host is taken
  const local = await fetch(`http://127.0.0.1:${gw.gateway.httpPort}/ota/offer`, { method: "POST", headers: { "content-type": "application/json" }, body });
  expect(local.status).toBe(200);
  expect(gw.gateway.ota?.store.versions()).toEqual(["0.9.0"]);
});
