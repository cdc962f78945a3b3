// Guards issue 14, finding 2, the other way round: a record the cloud refuses by itself is still
// quarantined, and the rest is stored. The refusal is a real one that the gateway's validation does
// not catch: alerts stored while the gateway's clock was not yet set (a Pi without a real-time
// clock, before NTP) carry a storage timestamp before 2001, which the contract refuses
// (/recs/N/ts, VW_SCHEMA) and which can never change (it is fixed at the first persist). Alerts are
// never dropped by age, so they do reach the cloud. A few such records among a good backlog must
// not trip the quarantine breaker.
import { afterEach, expect, it } from "vitest";
import { EmbeddedStore } from "../../cloud/storage/embedded-store.js";
import { startRealIngest, startSinkRig, validatedRecords, type RealIngest, type SinkRig } from "./helpers/sink-rig.js";
import { until } from "./helpers/device-publisher.js";

let store: EmbeddedStore | undefined;
let ingest: RealIngest | undefined;
let rig: SinkRig | undefined;
afterEach(async () => {
  await rig?.close();
  await ingest?.close();
  await store?.close();
});

it("quarantines the records the real ingest service refuses by themselves (timestamps from an unset clock) and stores the rest", async () => {
  store = new EmbeddedStore({ path: ":memory:" });
  ingest = await startRealIngest(store);
  let clockSet = false;
  // 2 Jan 1970 until "NTP" sets the clock
  rig = startSinkRig({ url: ingest.url, token: ingest.tokens.token, buffer: { nowUs: () => (clockSet ? Date.now() * 1000 : 86_400_000_000) } });
  const { buffer, sink, metrics } = rig;
  buffer.append(validatedRecords("pump-01", "alert", 3, 0, 3));
  clockSet = true;
  buffer.append([...validatedRecords("pump-01", "tele", 3, 3, 400), ...validatedRecords("pump-01", "alert", 3, 403, 2)]);
  sink.start();

  expect(await until(() => buffer.stats().records === 0, 30_000)).toBe(true);
  expect(store.readPoints("vw_tele", "pump-01").length).toBe(400);
  expect(store.readPoints("vw_alert", "pump-01").map((point) => point.fields.seq)).toEqual([403, 404]);
  expect(buffer.quarantine.counts()).toEqual([{ device: "pump-01", code: "VW_SCHEMA", count: 3 }]);
  expect(await metrics.value("vw_gateway_records_cloud_rejected_total", { reason: "VW_SCHEMA" })).toBe(3);
  expect(await metrics.value("vw_gateway_cloud_refusals_total", { code: "VW_SCHEMA", action: "quarantine" })).toBe(3);
  // scattered refusals among stored records: the breaker stays closed
  expect(await metrics.value("vw_gateway_quarantine_breaker_trips_total")).toBe(0);
  expect(await metrics.value("vw_gateway_quarantine_breaker_open")).toBe(0);
});
