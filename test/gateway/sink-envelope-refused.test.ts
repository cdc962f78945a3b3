// Guards issue 14, finding 2 ("a systemic 400 quarantines the whole backlog"): the REAL ingest
// service refuses every batch's envelope (400 VW_UNKNOWN_VERSION, its own reply: what an ingest
// service upgraded to a payload version this gateway does not speak answers), while records keep
// arriving. The sink must keep every record buffered, quarantine none, split nothing, and deliver
// everything once the service accepts the envelope again.
//
// "5 minutes" compressed: with the default backoff (200 ms doubling to 30 s, full jitter) and 4
// batches in flight, 5 minutes of refusals are about 100 refused POSTs; here the backoff is 5-50 ms
// and the refusal lasts 400 POSTs, four times the rounds, in a few seconds. The fault: a
// fault-injecting proxy (helpers/fault-injecting-http-proxy.ts) raises the envelope's version on the
// way, since the real service speaks the same contract as this gateway and cannot be made to refuse
// its version on demand; the refusal itself is the real service's.
import { afterEach, expect, it } from "vitest";
import { EmbeddedStore } from "../../cloud/storage/embedded-store.js";
import { PAYLOAD_VERSION } from "../../protocol/limits.js";
import { FaultInjectingHttpProxy } from "./helpers/fault-injecting-http-proxy.js";
import { startRealIngest, startSinkRig, validatedRecords, type RealIngest, type SinkRig } from "./helpers/sink-rig.js";
import { until } from "./helpers/device-publisher.js";

const REFUSED_POSTS = 400;

let store: EmbeddedStore | undefined;
let ingest: RealIngest | undefined;
let proxy: FaultInjectingHttpProxy | undefined;
let rig: SinkRig | undefined;
afterEach(async () => {
  await rig?.close();
  await proxy?.close();
  await ingest?.close();
  await store?.close();
});

function seqs(points: Array<{ fields: Record<string, unknown> }>): number[] {
  return points.map((point) => Number(point.fields.seq)).sort((a, b) => a - b);
}

it("the cloud refusing every batch's envelope for 5 minutes leaves every record buffered, and all are stored when it recovers (issue 14)", { timeout: 120_000 }, async () => {
  store = new EmbeddedStore({ path: ":memory:" });
  ingest = await startRealIngest(store);
  proxy = await FaultInjectingHttpProxy.start(ingest.url);
  let refusing = true;
  proxy.mode = () => (refusing ? { kind: "envelope-version", version: PAYLOAD_VERSION + 1 } : { kind: "forward" });
  rig = startSinkRig({ url: proxy.url, token: ingest.tokens.token });
  const { buffer, sink, metrics } = rig;
  buffer.append([...validatedRecords("pump-01", "tele", 7, 0, 600), ...validatedRecords("fan-02", "tele", 9, 0, 600), ...validatedRecords("fan-02", "alert", 9, 600, 10)]);
  sink.start();

  // half-way through the outage, more records arrive
  expect(await until(() => (proxy!.served.get("envelope-version") ?? 0) >= REFUSED_POSTS / 2, 60_000, 5)).toBe(true);
  expect(buffer.stats().quarantined).toBe(0);
  buffer.append(validatedRecords("pump-01", "tele", 7, 600, 300));
  expect(await until(() => (proxy!.served.get("envelope-version") ?? 0) >= REFUSED_POSTS, 60_000, 5)).toBe(true);

  // still refusing: every record is buffered, none quarantined, none stored
  expect(buffer.stats().records).toBe(1510);
  expect(buffer.stats().quarantined).toBe(0);
  expect(store.readPoints("vw_tele").length).toBe(0);
  // the refusals were the real service's own, with its code; whole batches were refused, never split
  expect(proxy.relayed.get(`400 VW_UNKNOWN_VERSION`) ?? 0).toBeGreaterThan(REFUSED_POSTS / 2);
  expect(Math.min(...proxy.faultedBatchSizes)).toBeGreaterThan(1);
  expect(rig.logs.some((line) => line.level >= 50 && JSON.stringify(line).includes("VW_UNKNOWN_VERSION"))).toBe(true);

  refusing = false;
  expect(await until(() => buffer.stats().records === 0, 60_000)).toBe(true);
  expect(seqs(store.readPoints("vw_tele", "pump-01"))).toEqual(Array.from({ length: 900 }, (_, i) => i));
  expect(seqs(store.readPoints("vw_tele", "fan-02"))).toEqual(Array.from({ length: 600 }, (_, i) => i));
  expect(seqs(store.readPoints("vw_alert", "fan-02"))).toEqual(Array.from({ length: 10 }, (_, i) => 600 + i));
  expect(buffer.stats().quarantined).toBe(0);
  expect(await metrics.value("vw_gateway_records_cloud_rejected_total")).toBe(0);
  expect(await metrics.value("vw_gateway_records_forwarded_total")).toBe(1510);
  expect(await metrics.value("vw_gateway_cloud_refusals_total", { code: "VW_UNKNOWN_VERSION", action: "alarm" })).toBeGreaterThanOrEqual(REFUSED_POSTS / 2);
  expect([...proxy.relayed.keys()].sort()).toEqual(["200", "400 VW_UNKNOWN_VERSION"]);
});
