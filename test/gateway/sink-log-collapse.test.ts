// A cloud outage is a few log lines, not one per retried batch (issue 19: 73 warnings a minute):
// the sink's "batch not stored" warning repeats at most once per interval per kind, with the count
// of what it folded, and one line says when delivery works again. Against the real ingest service
// behind the fault-injecting proxy (a stand-in: no real part answers 502 on demand).
import { afterEach, expect, it } from "vitest";
import { EmbeddedStore } from "../../cloud/storage/embedded-store.js";
import { FaultInjectingHttpProxy } from "./helpers/fault-injecting-http-proxy.js";
import { startRealIngest, startSinkRig, validatedRecords, type RealIngest, type SinkRig } from "./helpers/sink-rig.js";
import { until } from "./helpers/device-publisher.js";

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

it("folds repeated delivery warnings into one line per interval with a count, and says when delivery works again", { timeout: 60_000 }, async () => {
  store = new EmbeddedStore({ path: ":memory:" });
  ingest = await startRealIngest(store);
  proxy = await FaultInjectingHttpProxy.start(ingest.url);
  let faulty = true;
  proxy.mode = () => (faulty ? { kind: "html", status: 502 } : { kind: "forward" });
  rig = startSinkRig({ url: proxy.url, token: ingest.tokens.token, sink: { repeatedLogIntervalMs: 1000 } });
  const { buffer, sink, logs } = rig;
  buffer.append(validatedRecords("fan-09", "tele", 2, 0, 50));
  sink.start();
  const startedMs = Date.now();
  expect(await until(() => (proxy!.served.get("html_502") ?? 0) >= 100, 30_000, 5)).toBe(true);
  const failedPosts = proxy.served.get("html_502")!;
  const elapsedS = (Date.now() - startedMs) / 1000;
  faulty = false;
  expect(await until(() => buffer.stats().records === 0, 30_000)).toBe(true);

  const warnings = logs.filter((l) => l.msg === "batch not stored: will retry");
  // one line per second of outage at most (+1: the first comes at once), however many retries
  expect(warnings.length).toBeLessThanOrEqual(Math.ceil(elapsedS) + 2);
  expect(warnings.length).toBeLessThan(failedPosts / 5);
  // every failed POST is accounted for: logged, or counted in the next line's `repeated`, or in the last count
  const recovered = logs.find((l) => l.msg === "batch delivery works again");
  expect(recovered).toBeDefined();
  const counted = (recovered!.occurrences as Record<string, number>)["retry:http_5xx:HTTP_502"];
  expect(counted).toBeGreaterThanOrEqual(failedPosts - 4); // (posts in flight when the proxy switched may land after the count)
  expect(warnings[0]).toMatchObject({ repeated: 0, occurrences: 1 });
  expect(store.readPoints("vw_tele", "fan-09").length).toBe(50);
});
