// Guards against one bad or oversized record blocking the backlog forever, or good records being
// thrown away with it: a 413 splits the batch, a record the cloud rejects (per-record, in a 200
// reply) is quarantined and deleted while the rest is stored, a bearer token travels in the header;
// and a whole-batch 400 is never blamed on the records (issue 14): kept whole, retried, not split.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, afterEach, expect, it } from "vitest";
import { SqliteBuffer } from "../../gateway/buffer/sqlite-buffer.js";
import { HttpPoster } from "../../gateway/sinks/http-post.js";
import { HttpSink } from "../../gateway/sinks/http-sink.js";
import { GatewayMetrics } from "../../gateway/metrics.js";
import { FaultInjectingIngestStandIn } from "./helpers/fault-injecting-ingest-stand-in.js";
import { alert, encode, telemetry, until } from "./helpers/device-publisher.js";

const dir = mkdtempSync(join(tmpdir(), "vw-gw-reject-"));
const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function rig(name: string, standInOptions: ConstructorParameters<typeof Object>[0] = {}) {
  const standIn = await FaultInjectingIngestStandIn.start(standInOptions as never);
  const buffer = new SqliteBuffer({ path: join(dir, `${name}.db`), maxBytes: 1e9, maxAgeS: 1e6 });
  const metrics = new GatewayMetrics(false);
  const poster = new HttpPoster({ url: standIn.url, token: "s3cret-token", timeoutMs: 2000, gzipMinBytes: 1 << 30, maxInFlight: 2 });
  const sink = new HttpSink(buffer, poster, { gateway: "gw-test", site: "site-a", batchMaxRecords: 500, batchMaxBytes: 1e9, batchMaxAgeMs: 10, maxInFlight: 2, backoffBaseMs: 10, backoffMaxMs: 100 }, metrics, pino({ level: "silent" }));
  open.push(standIn, { close: () => buffer.close() }, { close: () => sink.close() });
  return { standIn, buffer, metrics, sink };
}

it("splits a batch the cloud refuses as too large until it fits, and loses nothing", async () => {
  const { standIn, buffer, sink, metrics } = await rig("split", { maxBodyBytes: 20_000, token: "s3cret-token" });
  buffer.append(Array.from({ length: 500 }, (_, seq) => ({ kind: "tele" as const, device: "d-1", body: encode(telemetry("d-1", 1, seq)), dedupe: { device: "d-1", boot: 1, seq: seq } })));
  sink.start();
  expect(await until(() => buffer.stats().records === 0, 20_000)).toBe(true);
  expect(standIn.stored.size).toBe(500);
  expect(standIn.served.get("status_413") ?? 0).toBeGreaterThan(0);
  expect(standIn.served.get("status_401") ?? 0).toBe(0);
  expect(await metrics.value("vw_gateway_records_forwarded_total")).toBe(500);
});

it("quarantines the records the cloud rejects and stores the rest of the batch", async () => {
  const { standIn, buffer, sink, metrics } = await rig("reject");
  standIn.rejectRecord = (record) => ((record.p as { s: number }).s % 10 === 3 ? { id: record.id, code: "VW_SCHEMA", reason: "/p/u/1: too large" } : null);
  buffer.append([
    ...Array.from({ length: 100 }, (_, seq) => ({ kind: "tele" as const, device: "d-1", body: encode(telemetry("d-1", 1, seq)), dedupe: { device: "d-1", boot: 1, seq: seq } })),
    { kind: "alert", device: "d-2", body: encode(alert("d-2", 1, 0)), dedupe: { device: "d-2", boot: 1, seq: 0 } },
  ]);
  sink.start();
  expect(await until(() => buffer.stats().records === 0, 20_000)).toBe(true);
  expect(standIn.stored.size).toBe(91);
  expect(buffer.stats().quarantined).toBe(10);
  expect(await metrics.value("vw_gateway_records_cloud_rejected_total", { reason: "VW_SCHEMA" })).toBe(10);
  expect(buffer.quarantine.counts()).toEqual([{ device: "d-1", code: "VW_SCHEMA", count: 10 }]);
});

it("keeps a batch refused whole with 400 (a code of no catalog), never splits or quarantines it, and stores it once the 400s stop (issue 14)", async () => {
  const { standIn, buffer, sink, metrics } = await rig("bad-batch");
  let faulted = 0;
  // the stand-in's error reply has the catalog's shape but a code of neither catalog
  standIn.fault = () => (++faulted <= 50 ? { kind: "status", status: 400 } : { kind: "ok" });
  buffer.append(Array.from({ length: 41 }, (_, seq) => ({ kind: "tele" as const, device: "d-1", body: encode(telemetry("d-1", 1, seq)), dedupe: { device: "d-1", boot: 1, seq: seq } })));
  sink.start();
  expect(await until(() => buffer.stats().records === 0, 20_000)).toBe(true);
  expect(standIn.served.get("status_400")).toBe(50);
  expect(standIn.stored.size).toBe(41);
  expect(buffer.stats().quarantined).toBe(0);
  // one batch of 41, refused 50 times, then stored: never split
  expect(await metrics.value("vw_gateway_batches_total", { outcome: "alarm" })).toBe(50);
  expect(await metrics.value("vw_gateway_batches_total", { outcome: "ok" })).toBe(1);
  expect(await metrics.value("vw_gateway_cloud_refusals_total", { code: "HTTP_400", action: "alarm" })).toBe(50);
});
