// Issue 18: a Modbus TCP server nobody here wrote (Debian's python3-pymodbus) polled by the
// gateway: values arrive scaled and typed as configured and sit next to vibration data in
// InfluxDB (the dashboard's panel 8, run as Grafana would); then the server is restarted 20 times
// under polling: every restart is recovered, nothing stalls for good, and every missed poll is a
// gap counted in /metrics and explained in the loss audit (no reading lost on the way, none twice).
import { afterAll, beforeAll, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { SouthboundStack, SITE, DATABASE, until } from "./helpers/southbound-stack.js";
import { startModbusTcpServer, type RegisterMap } from "./helpers/modbus-peer.js";
import { connectClient, encode, telemetry } from "../gateway/helpers/device-publisher.js";
import { deviceTopic } from "../../protocol/topics.js";
import type { ManagedProcess } from "../helpers/services.js";

const REGISTERS: RegisterMap = {
  // -123 as int16; 12.5 A as float32, high word first; 70000 as uint32, low word first
  holding: { 0: 0xff85, 1: 0x4148, 2: 0x0000, 3: 0x1170, 4: 0x0001 },
  // 65.3 °C in tenths
  input: { 0: 653 },
  coil: { 0: 1 },
};

const source = (port: number) => ({
  type: "modbus",
  name: "plc-1",
  protocol: "tcp",
  host: "127.0.0.1",
  port,
  unitId: 1,
  intervalMs: 100,
  timeoutMs: 300,
  pacingMs: 5,
  reconnectMs: 100,
  reconnectMaxMs: 1000,
  measurement: "plc",
  tags: { line: "line-2" },
  registers: [
    { field: "offset_counts", area: "holding", address: 0, type: "int16", output: "int" },
    { field: "motor_current_a", area: "holding", address: 1, type: "float32", wordOrder: "big" },
    { field: "energy_wh", area: "holding", address: 3, type: "uint32", wordOrder: "little", output: "int" },
    { field: "temperature_c", area: "input", address: 0, type: "uint16", scale: 0.1 },
    { field: "running", area: "coil", address: 0, type: "bool" },
  ],
});

const stack = new SouthboundStack();
let server: ManagedProcess & { port: number };

beforeAll(async () => {
  await stack.start();
  server = await startModbusTcpServer(REGISTERS);
  await stack.startGateway([source(server.port)]);
}, 60_000);

afterAll(async () => {
  await stack.stop();
  await server?.dispose();
});

const polledOk = () => stack.metric("vw_gateway_source_polls_total", { source: "plc-1", outcome: "ok" });

it("stores the registers scaled and typed as configured, queryable next to vibration data", async () => {
  expect(await until(async () => (await polledOk()) >= 5, 15_000)).toBe(true);
  // a device's telemetry through the device intake, for the panel's other half
  const device = await connectClient(stack.broker.url, "dev-pump-07");
  await device.publishAsync(deviceTopic(SITE, "pump-07", "tele"), encode(telemetry("pump-07", 11, 0)), { qos: 1 });
  await device.endAsync();
  const stored = async () => (await stack.influx.query(`SELECT * FROM "plc" WHERE "source" = 'plc-1'`, DATABASE))[0];
  expect(await until(async () => ((await stored())?.values.length ?? 0) >= 3, 15_000)).toBe(true);
  const series = (await stored())!;
  const row = Object.fromEntries(series.columns.map((column, index) => [column, series.values[0]![index]]));
  expect(row).toMatchObject({ offset_counts: -123, motor_current_a: 12.5, energy_wh: 70000, running: true, line: "line-2", site: SITE, source: "plc-1", gateway: stack.gateway!.config.gatewayId });
  expect(row.temperature_c as number).toBeCloseTo(65.3, 6);
  // the types InfluxDB keeps: integers as configured, floats, booleans
  const fieldTypes = await stack.influx.query(`SHOW FIELD KEYS FROM "plc"`, DATABASE);
  expect(Object.fromEntries(fieldTypes[0]!.values as [string, string][])).toMatchObject({ offset_counts: "integer", energy_wh: "integer", motor_current_a: "float", temperature_c: "float", running: "boolean", seq: "integer", boot: "integer", gaps: "integer" });

  // the dashboard's "Motor current next to vibration" panel, substituted as Grafana does
  const dashboard = JSON.parse(readFileSync("manifests/grafana/dashboards/fleet.json", "utf8")) as { panels: { id: number; targets: { refId: string; query: string }[] }[] };
  const panel = dashboard.panels.find((p) => p.id === 8)!;
  const substitute = (query: string) =>
    query.replaceAll("$timeFilter", `time >= now() - 10m`).replaceAll("$__interval", "1m").replaceAll("$site", SITE).replaceAll("$device", "pump-07");
  expect(await until(async () => (await stack.influx.query(substitute(panel.targets[0]!.query), DATABASE)).length === 1, 15_000)).toBe(true);
  const current = await stack.influx.query(substitute(panel.targets.find((t) => t.refId === "B")!.query), DATABASE);
  expect(current.map((s) => s.tags?.source)).toEqual(["plc-1"]);
  expect(current[0]!.values.some((value) => value[1] === 12.5)).toBe(true);
}, 60_000);

it("recovers from 20 server restarts under polling: no permanent stall, every missed poll a counted gap", async () => {
  const restarts = 20;
  const reconnects = () => stack.metric("vw_gateway_source_reconnects_total", { source: "plc-1" });
  let slowestMs = 0;
  for (let restart = 0; restart < restarts; restart += 1) {
    const reconnectsBefore = await reconnects();
    await server.stop();
    // the gateway keeps polling a dead server: those slots are gaps, never stale repeats
    const gapsBefore = await stack.metric("vw_gateway_source_gaps_total", { source: "plc-1" });
    expect(await until(async () => (await stack.metric("vw_gateway_source_gaps_total", { source: "plc-1" })) > gapsBefore, 10_000)).toBe(true);
    await server.start();
    const upAt = Date.now();
    // recovered: the link reopened and a successful poll on it, within the 10 s
    let afterReconnect = Infinity;
    const recovered = await until(async () => {
      if (afterReconnect === Infinity && (await reconnects()) > reconnectsBefore) afterReconnect = await polledOk();
      return (await polledOk()) > afterReconnect;
    }, 10_000);
    expect(recovered, `restart ${restart + 1} not recovered within 10 s`).toBe(true);
    expect(Date.now() - upAt).toBeLessThan(10_000);
    slowestMs = Math.max(slowestMs, Date.now() - upAt);
  }
  expect(await stack.metric("vw_gateway_source_reconnects_total", { source: "plc-1" })).toBeGreaterThanOrEqual(restarts);
  // still polling after the last restart: no permanent stall
  const settled = await polledOk();
  expect(await until(async () => (await polledOk()) >= settled + 10, 10_000)).toBe(true);

  // stop polling, let the buffer drain to the cloud, then audit what InfluxDB holds
  const gateway = stack.gateway!;
  const modbus = gateway.sources[0]!;
  await modbus.stop();
  expect(await until(() => gateway.buffer.stats().records === 0, 30_000)).toBe(true);
  const gapsCounted = await stack.metric("vw_gateway_source_gaps_total", { source: "plc-1" });
  expect(gapsCounted).toBe(modbus.stream.gaps);
  expect(gapsCounted).toBeGreaterThanOrEqual(restarts);
  const { report } = await stack.audit();
  const boot = report.boots.find((b) => b.device === "plc-1" && b.boot === modbus.stream.boot)!;
  expect(boot.stored).toBe(await polledOk());
  // every slot missing in the store is a gap the source counted; nothing lost on the way, nothing twice
  expect(boot.missing).toBeGreaterThanOrEqual(restarts);
  console.log(`[southbound] ${"plc-1"}: ${restarts} restarts, slowest recovery ${slowestMs} ms after the server was back, readings ${boot.stored}, gaps counted ${gapsCounted}, missing in the store ${boot.missing}, unexplained ${boot.unexplained}, duplicated ${boot.duplicated}`);
  expect(boot.unexplained).toBe(0);
  expect(boot.duplicated).toBe(0);
  expect(boot.missing).toBe(boot.droppedByDevice);
  // gaps after the last stored reading are not in any record yet: at most the slots since then
  expect(gapsCounted - boot.missing).toBeLessThanOrEqual(modbus.stream.nextSeq - 1 - boot.lastSeq);
}, 300_000);
