// Issue 18: JSON over MQTT from third-party sensors through the real Mosquitto: the guide's own
// `mosquitto_pub -t factory/machine1/temp -m '{"temp":72.4,"ts":1680000000}'`, a Tasmota-shaped
// and an ESPHome-shaped payload are stored as readings with their tags and times; malformed JSON
// and a payload the mapping does not fit are quarantined with a reason (one log line per reason,
// counted), listed by `vibewatch quarantine`, and the second is replayed after a mapping fix;
// messages published while the gateway is down arrive (persistent session, QoS 1); a source over
// its rate drops messages as counted gaps.
import { afterAll, beforeAll, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Writable } from "node:stream";
import pino from "pino";
import { SouthboundStack, DATABASE, until } from "./helpers/southbound-stack.js";
import { runCli } from "../helpers/run-cli.js";
import type { JsonMqttSource } from "../../gateway/sources/json-mqtt/json-mqtt-source.js";

const run = promisify(execFile);
const stack = new SouthboundStack();
const logLines: Array<Record<string, unknown>> = [];
const logStream = new Writable({ write: (chunk, _encoding, done) => (logLines.push(...String(chunk).trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)), done()) });

const factoryMapping = { topic: "factory/+/temp", measurement: "env", topicTags: { machine: 1 }, fields: [{ field: "temp_c", path: "$.temp" }], time: { path: "$.ts", unit: "s" } };
const tasmotaMapping = {
  topic: "tele/+/SENSOR",
  measurement: "env",
  topicTags: { machine: 1 },
  fields: [
    { field: "temp_c", path: "$.AM2301.Temperature" },
    { field: "humidity_pct", path: "$.AM2301.Humidity" },
  ],
  time: { path: "$.Time", unit: "iso" },
};
const esphomeMapping = { topic: "esphome/+/sensor/temperature/state", measurement: "env", topicTags: { machine: 1 }, fields: [{ field: "temp_c", path: "$" }] };
const sensors = (mappings: unknown[]) => ({ type: "json-mqtt", name: "factory-sensors", mappings });
const noisy = { type: "json-mqtt", name: "noisy-sensor", ratePerS: 1, burst: 3, mappings: [{ topic: "noisy/+/level", measurement: "env", fields: [{ field: "level_pct", path: "$.level" }] }] };

async function pub(topic: string, message: string): Promise<void> {
  await run("mosquitto_pub", ["-h", "127.0.0.1", "-p", String(stack.broker.port), "-q", "1", "-t", topic, "-m", message]);
}

const envRows = async (machine: string) => (await stack.influx.query(`SELECT * FROM "env" WHERE "machine" = '${machine}'`, DATABASE))[0];
const rowsOf = (series: Awaited<ReturnType<typeof envRows>>) => (series ? series.values.map((v) => Object.fromEntries(series.columns.map((c, i) => [c, v[i]]))) : []);

beforeAll(async () => {
  await stack.start();
  await stack.startGateway([sensors([factoryMapping, tasmotaMapping, esphomeMapping]), noisy], { logLevel: "info" }, pino({ level: "info" }, logStream));
  expect(await until(() => stack.gateway!.sources.every((s) => s.connected), 10_000)).toBe(true);
}, 60_000);

afterAll(async () => {
  await stack.stop();
});

it("stores the guide's mosquitto_pub example, a Tasmota and an ESPHome payload, with topic tags and times", async () => {
  await pub("factory/machine1/temp", '{"temp":72.4,"ts":1680000000}');
  await pub("tele/tasmota-4f2a/SENSOR", '{"Time":"2026-12-04T10:00:00","AM2301":{"Temperature":22.3,"Humidity":45.1},"TempUnit":"C"}');
  await pub("esphome/esp-hall/sensor/temperature/state", "21.75");
  expect(await until(async () => (await envRows("machine1")) !== undefined && (await envRows("tasmota-4f2a")) !== undefined && (await envRows("esp-hall")) !== undefined, 15_000)).toBe(true);
  const [guide] = rowsOf(await envRows("machine1"));
  expect(guide).toMatchObject({ time: 1680000000 * 1e6, temp_c: 72.4, machine: "machine1", source: "factory-sensors", seq: 0, gaps: 0 });
  const [tasmota] = rowsOf(await envRows("tasmota-4f2a"));
  expect(tasmota).toMatchObject({ time: Date.parse("2026-12-04T10:00:00") * 1000, temp_c: 22.3, humidity_pct: 45.1, source: "factory-sensors" });
  const [esphome] = rowsOf(await envRows("esp-hall"));
  expect(esphome).toMatchObject({ temp_c: 21.75, source: "factory-sensors" });
  // no time in the payload: the arrival time
  expect(Math.abs((esphome!.time as number) / 1000 - Date.now())).toBeLessThan(60_000);
}, 60_000);

it("quarantines malformed JSON and a payload the mapping does not fit, with the reason, one log line per reason", async () => {
  const before = logLines.length;
  for (let i = 0; i < 4; i += 1) await pub("factory/machine1/temp", '{"temp":72.4,');
  await pub("factory/machine2/temp", '{"temperature":70.1,"ts":1680000001}');
  const quarantined = (reason: string) => stack.metric("vw_gateway_source_quarantined_total", { source: "factory-sensors", reason });
  expect(await until(async () => (await quarantined("VW_NOT_JSON")) === 4 && (await quarantined("VW_MAPPING")) === 1, 10_000)).toBe(true);
  const lines = logLines.slice(before).filter((line) => line.msg === "json-mqtt message quarantined (see `vibewatch quarantine list`)");
  // four bad messages of one kind: one line (the next would carry the count), one for the other kind
  expect(lines.map((line) => line.code).sort()).toEqual(["VW_MAPPING", "VW_NOT_JSON"]);
  expect(lines.find((line) => line.code === "VW_MAPPING")!.reason).toBe("$.temp (field temp_c): missing");

  const list = await runCli(["quarantine", "list", "--buffer", stack.bufferPath!, "--json"]);
  expect(list.code, list.stderr).toBe(0);
  const { entries } = JSON.parse(list.stdout) as { entries: Array<{ id: number; code: string; topic: string; reason: string; device: string }> };
  expect(entries.map((e) => e.code)).toEqual(["VW_NOT_JSON", "VW_NOT_JSON", "VW_NOT_JSON", "VW_NOT_JSON", "VW_MAPPING"]);
  expect(entries[4]).toMatchObject({ device: "factory-sensors", topic: "factory-sensors:factory/machine2/temp", reason: "$.temp (field temp_c): missing" });
  expect(entries[0]!.reason).toMatch(/^not JSON: /);
  const show = await runCli(["quarantine", "show", "--buffer", stack.bufferPath!, String(entries[4]!.id)]);
  expect(show.stdout).toContain('{"temperature":70.1,"ts":1680000001}');
}, 60_000);

it("replays the quarantined message after a mapping fix; malformed JSON stays quarantined", async () => {
  // the fix: machine2's sensor names its field "temperature"; restart the gateway with it
  await stack.gateway!.stop();
  const fixed = { ...factoryMapping, topic: "factory/machine2/temp", fields: [{ field: "temp_c", path: "$.temperature" }] };
  await stack.startGateway([sensors([fixed, factoryMapping, tasmotaMapping, esphomeMapping]), noisy]);
  const url = `http://127.0.0.1:${stack.gateway!.httpPort}`;
  const replay = await runCli(["quarantine", "replay", "--gateway-url", url, "--all", "--json"]);
  const reply = JSON.parse(replay.stdout) as { stored: number; refused: number; results: Array<{ outcome: string; code?: string }> };
  expect(reply.stored).toBe(1);
  expect(reply.refused).toBe(4);
  expect(reply.results.filter((r) => r.outcome === "refused").map((r) => r.code)).toEqual(["VW_NOT_JSON", "VW_NOT_JSON", "VW_NOT_JSON", "VW_NOT_JSON"]);
  expect(replay.code).toBe(1);
  expect(await until(async () => (await envRows("machine2")) !== undefined, 15_000)).toBe(true);
  expect(rowsOf(await envRows("machine2"))[0]).toMatchObject({ time: 1680000001 * 1e6, temp_c: 70.1, source: "factory-sensors", boot: 0 });
  // replayed: marked so, and not replayed again
  const list = await runCli(["quarantine", "list", "--buffer", stack.bufferPath!, "--code", "VW_REPLAYED", "--json"]);
  expect((JSON.parse(list.stdout) as { entries: unknown[] }).entries).toHaveLength(1);
  const again = JSON.parse((await runCli(["quarantine", "replay", "--gateway-url", url, "--all", "--json"])).stdout) as { stored: number };
  expect(again.stored).toBe(0);
}, 90_000);

it("keeps messages published while the gateway is down (persistent session, QoS 1)", async () => {
  await stack.gateway!.stop();
  await pub("factory/machine3/temp", '{"temp":55.5,"ts":1680000100}');
  await stack.startGateway([sensors([factoryMapping]), noisy]);
  expect(await until(async () => (await envRows("machine3")) !== undefined, 15_000)).toBe(true);
  expect(rowsOf(await envRows("machine3"))[0]).toMatchObject({ temp_c: 55.5 });
}, 60_000);

it("drops messages over a source's rate as counted gaps, which the audit explains", async () => {
  for (let i = 0; i < 10; i += 1) await pub("noisy/tank-1/level", JSON.stringify({ level: i }));
  const gaps = () => stack.metric("vw_gateway_source_gaps_total", { source: "noisy-sensor" });
  const ok = () => stack.metric("vw_gateway_source_polls_total", { source: "noisy-sensor", outcome: "ok" });
  expect(await until(async () => (await gaps()) + (await ok()) === 10, 10_000)).toBe(true);
  expect(await gaps()).toBeGreaterThanOrEqual(5);
  const source = stack.gateway!.sources.find((s) => s.stream.context.name === "noisy-sensor") as JsonMqttSource;
  // one more within the rate, so the gaps are behind a stored reading
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await pub("noisy/tank-1/level", JSON.stringify({ level: 99 }));
  expect(await until(() => source.stream.nextSeq === 11 && stack.gateway!.buffer.stats().records === 0, 15_000)).toBe(true);
  const { report } = await stack.audit();
  const boot = report.boots.find((b) => b.device === "noisy-sensor" && b.boot === source.stream.boot)!;
  expect(boot.missing).toBe(source.stream.gaps);
  expect(boot.unexplained).toBe(0);
  expect(boot.duplicated).toBe(0);
  // `vibewatch audit` reports the sources beside the devices, and the one replayed reading apart
  const cli = await runCli(["audit", "--influx-url", stack.influx.url, "--database", DATABASE, "--json"]);
  expect(cli.code, cli.stdout + cli.stderr).toBe(0);
  const audited = JSON.parse(cli.stdout) as { sources: { report: { boots: Array<{ device: string; missing: number; droppedByDevice: number; unexplained: number }> }; replayed: Record<string, number> } };
  expect(audited.sources.report.boots.find((b) => b.device === "noisy-sensor")).toMatchObject({ missing: source.stream.gaps, droppedByDevice: source.stream.gaps, unexplained: 0 });
  expect(audited.sources.replayed).toEqual({ "factory-sensors": 1 });
  const text = await runCli(["audit", "--influx-url", stack.influx.url, "--database", DATABASE]);
  expect(text.stdout).toMatch(/sources 2, source boots \d+, readings \d+, missing \d+ \(gaps counted by the sources \d+, unexplained 0\), duplicated 0, replayed from the quarantine 1/);
}, 60_000);
