// Every query of the Grafana fleet dashboard (panels, annotations, template variables) runs
// against the real InfluxDB after known data went in through the ingest service, with the
// dashboard's variables and $timeFilter substituted as Grafana would, and returns the expected rows.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import type { FastifyInstance } from "fastify";
import { startInfluxDb, type InfluxHandle, type InfluxSeries } from "../helpers/services.js";
import { build } from "../../cloud/app.js";
import { InfluxV1Writer } from "../../cloud/storage/influx-v1-writer.js";
import type { BatchRecord } from "../../protocol/batch.js";
import { alertRecord, gatewayRecord, GW, makeBatch, makeTokens, postBatch, SITE, statusRecord, teleRecord, testConfig, willRecord } from "./helpers/ingest-fixture.js";

interface Target { refId: string; query: string }
interface Panel { id: number; title: string; targets: Target[] }
interface Dashboard {
  uid: string;
  panels: Panel[];
  templating: { list: { name: string; query: string }[] };
  annotations: { list: { name: string; query?: string }[] };
}

const dashboard = JSON.parse(readFileSync("manifests/grafana/dashboards/fleet.json", "utf8")) as Dashboard;
const MINUTE_US = 60_000_000;

// Grafana formats a multi-value variable inside /regex/ as (a|b), each value regex-escaped
const escapeRegex = (value: string): string => value.replace(/[\\^$*+?.()|[\]{}/]/g, "\\$&");
const regexValue = (values: string[]): string => (values.length === 1 ? escapeRegex(values[0]!) : `(${values.map(escapeRegex).join("|")})`);

describe("Grafana fleet dashboard queries against the real InfluxDB", () => {
  let influx: InfluxHandle;
  let writer: InfluxV1Writer;
  let app: FastifyInstance;
  const base = Math.floor((Date.now() * 1000 - 30 * MINUTE_US) / MINUTE_US) * MINUTE_US;
  let minute = 0;
  const at = (record: BatchRecord): BatchRecord => ({ ...record, ts: base + minute++ * MINUTE_US + 1000 });
  const vrms = (mmS: number): [number, number, number] => [Math.round(mmS * 100), 10, 10];

  // pump-a: telemetry seq 0,1,3,5,6 (2 is an alert, 4 is lost, 7 a status), climbing into zone C
  const pumpTele = [
    at(teleRecord("pump-a", 0, { u: vrms(1.0), z: 0, n: null })),
    at(teleRecord("pump-a", 1, { u: vrms(1.5), z: 1, n: 50 })),
    at(alertRecord("pump-a", 2, { k: "vrms", l: 2, x: 450, y: 280, z: 2, m: "vrms 4.50 mm/s" })),
    at(teleRecord("pump-a", 3, { u: vrms(2.0), z: 1, n: 60 })),
    at(teleRecord("pump-a", 5, { u: vrms(2.5), z: 1, n: 70 })),
    at(teleRecord("pump-a", 6, { u: vrms(3.1), z: 2, n: 80 })),
    at(statusRecord("pump-a", 7, { x: 3 })),
  ];
  // fan-b: zone D, then its Last Will (offline)
  const fanTele = [
    at(teleRecord("fan-b", 10, { u: vrms(5.0), z: 3, n: 420 })),
    at(teleRecord("fan-b", 11, { u: vrms(5.0), z: 3, n: 420 })),
    at(teleRecord("fan-b", 12, { u: vrms(5.0), z: 3, n: 420 })),
    at(willRecord("fan-b")),
  ];
  const gateway = [at({ ...gatewayRecord(GW), p: { v: 1, q: 5, qb: 500, age: 2, up: 60, x: 0, on: 2 } }), at({ ...gatewayRecord(GW), p: { v: 1, q: 9, qb: 900, age: 4, up: 120, x: 0, on: 1 } })];
  // a southbound source's readings (protocol/readings.ts): motor current of plc-1, two per minute
  // (their point time is the reading's t), in the measurement panel 8 names
  const readings: BatchRecord[] = [12.5, 13.5, 20, 22].map((amps, index) => {
    const t = base + Math.floor(index / 2) * MINUTE_US + (index % 2) * 30_000_000 + 2000;
    return { ...at(gatewayRecord(GW)), k: "read", d: "plc-1", p: { v: 1, d: "plc-1", b: 7, s: index, t, x: 0, m: "plc", f: { motor_current_a: amps } } };
  });
  const bucket = (record: BatchRecord): number => Math.floor(record.ts / MINUTE_US) * MINUTE_US;

  // the dashboard's time range; InfluxQL reports several selectors at once at its start
  const fromMs = Math.floor(base / 1000) - 60_000;
  const toMs = Date.now() + 60_000;
  const variables: Record<string, string[]> = { site: [SITE], gateway: [GW], device: ["fan-b", "pump-a"] };
  const substitute = (query: string): string => {
    return query
      .replaceAll("$timeFilter", `time >= ${fromMs}ms and time <= ${toMs}ms`)
      .replaceAll("$__interval", "1m")
      .replace(/\$(site|gateway|device)\b/g, (_m, name: string) => regexValue(variables[name]!));
  };
  const run = async (query: string): Promise<InfluxSeries[]> => await influx.query(substitute(query), "vibewatch");
  const byDevice = (series: InfluxSeries[], tag = "device"): Record<string, unknown[][]> =>
    Object.fromEntries(series.map((s) => [`${s.tags?.[tag]}${s.name.startsWith("vw_") && series.some((o) => o.name !== s.name) ? `/${s.name}` : ""}`, s.values]));

  beforeAll(async () => {
    influx = await startInfluxDb();
    await influx.createDatabase("vibewatch");
    const tokens = await makeTokens();
    writer = new InfluxV1Writer({ url: influx.url, database: "vibewatch", timeoutMs: 5000, gzipThresholdBytes: 65536, maxLinesPerWrite: 5000 });
    app = await build({ config: testConfig(tokens), writer });
    const response = await postBatch(app, makeBatch([...pumpTele, ...fanTele, ...gateway, ...readings]), { token: tokens.token });
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body).rejected).toEqual([]);
  });
  afterAll(async () => {
    await app?.close();
    await writer?.close();
    await influx?.dispose();
  });

  const panel = (id: number): Panel => dashboard.panels.find((p) => p.id === id)!;
  const query = (id: number, refId = "A"): string => panel(id).targets.find((t) => t.refId === refId)!.query;
  const tele = (device: string): BatchRecord[] => [...pumpTele, ...fanTele].filter((r) => r.k === "tele" && r.d === device);
  const vrmsMax = (r: BatchRecord): number => Math.max(...((r.p as { u: number[] }).u)) / 100;

  const checks: Record<string, () => Promise<void>> = {
    "1/A": async () => {
      expect(byDevice(await run(query(1)))).toEqual({
        "fan-b": tele("fan-b").map((r) => [bucket(r), 5]),
        "pump-a": tele("pump-a").map((r) => [bucket(r), vrmsMax(r)]),
      });
    },
    "2/A": async () => {
      expect(byDevice(await run(query(2)))).toEqual({ "fan-b": [[fromMs * 1000, 3, 5]], "pump-a": [[fromMs * 1000, 2, 3.1]] });
    },
    "3/A": async () => {
      expect(byDevice(await run(query(3)))).toEqual({
        "fan-b": tele("fan-b").map((r) => [bucket(r), 4.2]),
        "pump-a": tele("pump-a").slice(1).map((r, i) => [bucket(r), [0.5, 0.6, 0.7, 0.8][i]]),
      });
    },
    "4/A": async () => {
      expect(byDevice(await run(query(4, "A")))).toEqual({ "fan-b": [[fanTele[3]!.ts, false]], "pump-a": [[pumpTele[6]!.ts, true]] });
    },
    "4/B": async () => {
      const lastFan = tele("fan-b").at(-1)!;
      const lastPump = tele("pump-a").at(-1)!;
      expect(byDevice(await run(query(4, "B")))).toEqual({ "fan-b": [[lastFan.ts, lastFan.id]], "pump-a": [[lastPump.ts, lastPump.id]] });
    },
    "5/A": async () => {
      const series = await run(query(5, "A"));
      // Grafana's transformations: group by device, max of max, min of min, sum of counts
      const perDevice = new Map<string, { max: number; min: number; received: number }>();
      for (const s of series) {
        const [, max, min, received] = s.values[0] as number[];
        const entry = perDevice.get(s.tags!.device!) ?? { max: -Infinity, min: Infinity, received: 0 };
        perDevice.set(s.tags!.device!, { max: Math.max(entry.max, max!), min: Math.min(entry.min, min!), received: entry.received + received! });
      }
      const missing = Object.fromEntries([...perDevice].map(([device, e]) => [device, e.max - e.min + 1 - e.received]));
      expect(missing).toEqual({ "fan-b": 0, "pump-a": 1 });
      expect(series.map((s) => s.name).sort()).toEqual(["vw_alert", "vw_status", "vw_tele", "vw_tele"]);
    },
    "5/B": async () => {
      // pump-a: 1 -> 3 and 3 -> 5 skip one number each; fan-b has no jump
      expect(byDevice(await run(query(5, "B")))).toEqual({ "pump-a": [[0, 2]] });
    },
    "5/C": async () => {
      expect(byDevice(await run(query(5, "C")))).toEqual({ "pump-a": [[pumpTele[6]!.ts, 3]] });
    },
    "6/A": async () => {
      expect(byDevice(await run(query(6, "A")), "gateway")).toEqual({ [GW]: gateway.map((r, i) => [bucket(r), [5, 9][i]]) });
    },
    "6/B": async () => {
      expect(byDevice(await run(query(6, "B")), "gateway")).toEqual({ [GW]: gateway.map((r, i) => [bucket(r), [2, 4][i]]) });
    },
    "8/A": async () => {
      expect(byDevice(await run(query(8, "A")))).toEqual({
        "fan-b": tele("fan-b").map((r) => [bucket(r), 5]),
        "pump-a": tele("pump-a").map((r) => [bucket(r), vrmsMax(r)]),
      });
    },
    "8/B": async () => {
      expect(byDevice(await run(query(8, "B")), "source")).toEqual({ "plc-1": [[base, 13], [base + MINUTE_US, 21]] });
    },
    "7/A": async () => {
      const series = await run(query(7));
      expect(series).toHaveLength(1);
      expect(series[0]!.columns).toEqual(["time", "device", "kind", "level", "value", "threshold", "zone", "message"]);
      expect(series[0]!.values).toEqual([[pumpTele[2]!.ts, "pump-a", "vrms", 2, 4.5, 2.8, 2, "vrms 4.50 mm/s"]]);
    },
  };

  it("has a check for every panel query (a new panel needs its test here)", () => {
    const keys = dashboard.panels.flatMap((p) => p.targets.map((t) => `${p.id}/${t.refId}`));
    expect(keys.sort()).toEqual(Object.keys(checks).sort());
    expect(dashboard.uid).toBe("vibewatch-fleet");
  });

  for (const key of Object.keys(checks)) {
    it(`panel query ${key} returns the expected rows`, async () => {
      await checks[key]!();
    });
  }

  it("annotation queries return the alert and the offline device", async () => {
    const [alerts, offline] = dashboard.annotations.list.filter((a) => a.query).map((a) => a.query!);
    const alertRows = await run(alerts!);
    expect(alertRows[0]!.values).toEqual([[pumpTele[2]!.ts, "vrms 4.50 mm/s", "vrms", 2, "pump-a"]]);
    const offlineRows = await run(offline!);
    expect(offlineRows[0]!.values).toEqual([[fanTele[3]!.ts, false, "fan-b"]]);
  });

  it("template variable queries list the site, the gateway and the devices", async () => {
    const values = async (name: string): Promise<unknown[]> =>
      (await run(dashboard.templating.list.find((v) => v.name === name)!.query)).flatMap((s) => s.values.map((row) => row[1]));
    expect(await values("site")).toEqual([SITE]);
    expect(await values("gateway")).toEqual([GW]);
    expect(await values("device")).toEqual(["fan-b", "pump-a"]);
  });
});
