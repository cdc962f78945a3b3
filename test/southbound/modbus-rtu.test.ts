// Issue 18: Modbus RTU over a pseudo-terminal pair (socat), with Debian's python3-pymodbus serial
// server on one end and the gateway on the other: the registers arrive decoded as configured
// (word order, scale, types) and the server's restarts are gaps, counted and explained, never
// stale values.
import { afterAll, beforeAll, expect, it } from "vitest";
import { SouthboundStack, DATABASE, until } from "./helpers/southbound-stack.js";
import { startModbusRtuServer, startPtyPair } from "./helpers/modbus-peer.js";
import type { ManagedProcess } from "../helpers/services.js";

const stack = new SouthboundStack();
let pty: Awaited<ReturnType<typeof startPtyPair>>;
let server: ManagedProcess;

beforeAll(async () => {
  await stack.start();
  pty = await startPtyPair(stack.dir);
  // float32 -3.75 with the low word first (0xC070 0x0000 -> words 0x0000, 0xC070); int32 -70000 high word first
  server = await startModbusRtuServer({ holding: { 10: 0x0000, 11: 0xc070, 12: 0xfffe, 13: 0xee90 }, discrete: { 2: 1 } }, pty.serverPath);
  await stack.startGateway([
    {
      type: "modbus",
      name: "vfd-7",
      protocol: "rtu",
      path: pty.clientPath,
      baudRate: 19200,
      unitId: 1,
      intervalMs: 200,
      timeoutMs: 300,
      pacingMs: 20,
      reconnectMs: 100,
      reconnectMaxMs: 1000,
      measurement: "drive",
      registers: [
        { field: "torque_nm", area: "holding", address: 10, type: "float32", wordOrder: "little" },
        { field: "position_counts", area: "holding", address: 12, type: "int32", output: "int" },
        { field: "fault", area: "discrete", address: 2, type: "bool" },
      ],
    },
  ]);
}, 60_000);

afterAll(async () => {
  await stack.stop();
  await server?.dispose();
  await pty?.stop();
});

const polledOk = () => stack.metric("vw_gateway_source_polls_total", { source: "vfd-7", outcome: "ok" });

it("reads the registers over RTU, decoded with their word order and types", async () => {
  expect(await until(async () => (await polledOk()) >= 3, 20_000)).toBe(true);
  const series = async () => (await stack.influx.query(`SELECT * FROM "drive" WHERE "source" = 'vfd-7'`, DATABASE))[0];
  expect(await until(async () => (await series()) !== undefined, 15_000)).toBe(true);
  const s = (await series())!;
  expect(Object.fromEntries(s.columns.map((c, i) => [c, s.values[0]![i]]))).toMatchObject({ torque_nm: -3.75, position_counts: -70000, fault: true, source: "vfd-7" });
}, 60_000);

it("counts the polls a restarting RTU server misses as gaps, and resumes", async () => {
  for (let restart = 0; restart < 3; restart += 1) {
    await server.stop();
    const gaps = await stack.metric("vw_gateway_source_gaps_total", { source: "vfd-7" });
    expect(await until(async () => (await stack.metric("vw_gateway_source_gaps_total", { source: "vfd-7" })) > gaps, 10_000)).toBe(true);
    // the server is gone and polls fail: any successful poll from here is after its restart
    const before = await polledOk();
    await server.start();
    expect(await until(async () => (await polledOk()) > before, 10_000), `restart ${restart + 1} not recovered`).toBe(true);
  }
  const gateway = stack.gateway!;
  const modbus = gateway.sources[0]!;
  await modbus.stop();
  expect(await until(() => gateway.buffer.stats().records === 0, 30_000)).toBe(true);
  const { report } = await stack.audit();
  const boot = report.boots.find((b) => b.device === "vfd-7" && b.boot === modbus.stream.boot)!;
  expect(boot.missing).toBeGreaterThanOrEqual(3);
  expect(boot.unexplained).toBe(0);
  expect(boot.duplicated).toBe(0);
}, 120_000);
