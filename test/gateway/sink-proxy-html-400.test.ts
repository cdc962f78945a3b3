// Guards issue 14, finding 2: a reply without the ingest service's error code is not about the
// records. A reverse proxy in front of the REAL ingest service answers every batch with its own HTML
// page, 400 (misconfigured: a header or body size rule) and 502 (no healthy backend) in turn, for
// 300 POSTs. The sink keeps every record buffered, never quarantines, never splits the batches, and
// delivers everything once the proxy passes batches through again. The proxy is a fault-injecting
// stand-in (helpers/fault-injecting-http-proxy.ts): no real part answers HTML 400 on demand.
import { afterEach, expect, it } from "vitest";
import { EmbeddedStore } from "../../cloud/storage/embedded-store.js";
import { FaultInjectingHttpProxy } from "./helpers/fault-injecting-http-proxy.js";
import { startRealIngest, startSinkRig, validatedRecords, type RealIngest, type SinkRig } from "./helpers/sink-rig.js";
import { until } from "./helpers/device-publisher.js";

const FAULTED_POSTS = 300;

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

it("a proxy answering HTML 400 and 502 for every batch quarantines nothing, splits nothing, and all is stored after", { timeout: 120_000 }, async () => {
  store = new EmbeddedStore({ path: ":memory:" });
  ingest = await startRealIngest(store);
  proxy = await FaultInjectingHttpProxy.start(ingest.url);
  let faulty = true;
  proxy.mode = (request) => (faulty ? { kind: "html", status: request % 2 === 0 ? 502 : 400 } : { kind: "forward" });
  rig = startSinkRig({ url: proxy.url, token: ingest.tokens.token });
  const { buffer, sink, metrics } = rig;
  buffer.append([...validatedRecords("press-03", "tele", 4, 0, 1200), ...validatedRecords("press-03", "alert", 4, 1200, 5)]);
  sink.start();

  expect(await until(() => (proxy!.served.get("html_400") ?? 0) + (proxy!.served.get("html_502") ?? 0) >= FAULTED_POSTS, 60_000, 5)).toBe(true);
  expect(buffer.stats().records).toBe(1205);
  expect(buffer.stats().quarantined).toBe(0);
  expect(store.readPoints("vw_tele").length).toBe(0);
  // whole batches were retried: the smallest batch the sink leases here is the backlog's last (5 + 1200 = 12 x 100 + 5)
  expect(Math.min(...proxy.faultedBatchSizes)).toBeGreaterThanOrEqual(5);
  expect(await metrics.value("vw_gateway_cloud_refusals_total", { code: "HTTP_400" })).toBeGreaterThan(0);
  expect(await metrics.value("vw_gateway_cloud_refusals_total", { code: "HTTP_502", action: "retry" })).toBeGreaterThan(0);

  faulty = false;
  expect(await until(() => buffer.stats().records === 0, 60_000)).toBe(true);
  expect(store.readPoints("vw_tele", "press-03").length).toBe(1200);
  expect(store.readPoints("vw_alert", "press-03").length).toBe(5);
  expect(buffer.stats().quarantined).toBe(0);
  expect(await metrics.value("vw_gateway_records_cloud_rejected_total")).toBe(0);
  expect(await metrics.value("vw_gateway_records_forwarded_total")).toBe(1205);
});
