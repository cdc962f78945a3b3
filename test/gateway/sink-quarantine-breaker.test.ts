// Guards issue 14, finding 2: when the cloud refuses, record by record, records that passed the
// gateway's validation, because of something that is not the records, the quarantine breaker must
// stop quarantining and keep them buffered. The refusal is real: the real InfluxDB 1.6.7 behind the
// real ingest service holds a `vw_tele` field `seq` written as a string (another tool, a botched
// migration), so every telemetry point of this shard is a field type conflict, and the service
// rejects each telemetry record with VW_STORAGE_REJECTED in a 200 reply. The whole gateway runs
// (real Mosquitto, devices publishing at QoS 1); once the operator drops the conflicting
// measurement, the probes succeed, the breaker closes and every reading is stored.
import { afterAll, expect, it } from "vitest";
import type { MqttClient } from "mqtt";
import { InfluxV1Writer } from "../../cloud/storage/influx-v1-writer.js";
import { Gateway } from "../../gateway/gateway.js";
import { deviceTopic } from "../../protocol/topics.js";
import { startInfluxDb, startMosquitto, type InfluxHandle, type MosquittoHandle } from "../helpers/services.js";
import { influxReadBack } from "../cloud/helpers/influx-read-back.js";
import { BROKER_TUNING, testConfig } from "./helpers/gateway-fixture.js";
import { alert, connectClient, encode, publishQos1, telemetry, until } from "./helpers/device-publisher.js";
import { capturingLogger, GW, SITE, startRealIngest, type RealIngest } from "./helpers/sink-rig.js";

const DB = "vw_breaker";
const READINGS = 300;

let influx: InfluxHandle | undefined;
let writer: InfluxV1Writer | undefined;
let ingest: RealIngest | undefined;
let broker: MosquittoHandle | undefined;
let gateway: Gateway | undefined;
let client: MqttClient | undefined;
afterAll(async () => {
  await client?.endAsync(true);
  await gateway?.stop();
  await ingest?.close();
  await writer?.close();
  await influx?.dispose();
  await broker?.dispose();
});

async function scrape(port: number): Promise<string> {
  return await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

it("trips on a systemic per-record refusal (InfluxDB field type conflict), keeps the records buffered, and closes once the cloud stores again", { timeout: 120_000 }, async () => {
  influx = await startInfluxDb();
  broker = await startMosquitto({ extraConfig: BROKER_TUNING });
  await influx.createDatabase(DB);
  await influx.write(DB, `vw_tele,device=legacy,gateway=${GW},site=${SITE} seq="imported" ${Date.now() * 1000 - 60_000_000}`);
  writer = new InfluxV1Writer({ url: influx.url, database: DB, timeoutMs: 5000, gzipThresholdBytes: 65_536, maxLinesPerWrite: 5000 });
  ingest = await startRealIngest(writer);
  const { log, logs } = capturingLogger();
  const config = testConfig({
    mqttUrl: broker.url,
    sinkUrl: ingest.url,
    overrides: { gatewayId: GW, site: SITE, statusIntervalS: 3600, mqtt: { sites: [SITE] }, sink: { backoffBaseMs: 5, backoffMaxMs: 50, batchMaxAgeMs: 20, timeoutMs: 30_000 } },
  });
  gateway = await Gateway.start(config, { token: ingest.tokens.token, log, processMetrics: false });
  client = await connectClient(broker.url, "dev-breaker");
  await Promise.all(Array.from({ length: READINGS }, (_, seq) => publishQos1(client!, deviceTopic(SITE, "mill-04", "tele"), encode(telemetry("mill-04", 5, seq)))));
  await Promise.all(Array.from({ length: 3 }, (_, i) => publishQos1(client!, deviceTopic(SITE, "mill-04", "alert"), encode(alert("mill-04", 5, READINGS + i)))));

  // many probes refused by InfluxDB, record by record (or, without a breaker, the readings quarantined)
  const refusedByStorage = async () => Number(/vw_ingest_records_rejected_total\{reason="VW_STORAGE_REJECTED"\} (\d+)/.exec((await ingest!.app.inject({ url: "/metrics" })).body)?.[1] ?? 0);
  await until(async () => (await refusedByStorage()) >= 5 * READINGS || gateway!.buffer.stats().quarantined > 0, 60_000, 20);
  const stats = gateway.buffer.stats();
  expect(stats.quarantined).toBe(0);
  expect(stats.records).toBe(READINGS); // every reading kept (the alerts, which InfluxDB takes, went through)
  expect(await refusedByStorage()).toBeGreaterThanOrEqual(5 * READINGS);
  const open = await scrape(gateway.httpPort);
  expect(open).toMatch(/^vw_gateway_quarantine_breaker_open 1$/m);
  expect(open).toMatch(/^vw_gateway_quarantine_breaker_trips_total 1$/m);
  expect(open).toMatch(/^vw_gateway_cloud_refusals_total\{code="VW_STORAGE_REJECTED",action="hold"\} [1-9]/m);
  expect(logs.some((line) => line.level >= 50 && /quarantine breaker open/.test(line.msg))).toBe(true);
  expect((await influxReadBack(influx, DB, "vw_alert", "mill-04")).length).toBe(3);

  // the operator removes the conflicting data; the next probe is stored and the breaker closes
  await influx.query(`DROP MEASUREMENT "vw_tele"`, DB);
  expect(await until(() => gateway!.buffer.stats().records === 0, 60_000)).toBe(true);
  const points = await influxReadBack(influx, DB, "vw_tele", "mill-04");
  expect(points.map((point) => Number(point.fields.seq)).sort((a, b) => a - b)).toEqual(Array.from({ length: READINGS }, (_, i) => i));
  expect(gateway.buffer.stats().quarantined).toBe(0);
  const closed = await scrape(gateway.httpPort);
  expect(closed).toMatch(/^vw_gateway_quarantine_breaker_open 0$/m);
  expect(closed).toMatch(/^vw_gateway_quarantine_breaker_trips_total 1$/m);
  expect(await gateway.metrics.value("vw_gateway_records_cloud_rejected_total")).toBe(0);
  expect(logs.some((line) => /quarantine breaker closed/.test(line.msg))).toBe(true);
});
