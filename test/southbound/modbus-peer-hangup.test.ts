// A Modbus TCP server that goes away between two polls (its socket closes while the gateway
// waits for the next slot, the usual case with a long poll interval): the gateway still reopens
// the link and polls again, no stall, and the slots in between are gaps.
import { afterAll, beforeAll, expect, it } from "vitest";
import { SouthboundStack, until } from "./helpers/southbound-stack.js";
import { startModbusTcpServer } from "./helpers/modbus-peer.js";
import type { ManagedProcess } from "../helpers/services.js";

const stack = new SouthboundStack();
let server: ManagedProcess & { port: number };

beforeAll(async () => {
  await stack.start();
  server = await startModbusTcpServer({ holding: { 0: 1234 } });
  await stack.startGateway([
    {
      type: "modbus",
      name: "slow-plc",
      host: "127.0.0.1",
      port: server.port,
      intervalMs: 2000,
      timeoutMs: 500,
      reconnectMs: 100,
      reconnectMaxMs: 500,
      measurement: "plc",
      registers: [{ field: "counts", address: 0, output: "int" }],
    },
  ]);
}, 60_000);

afterAll(async () => {
  await stack.stop();
  await server?.dispose();
});

it("reopens a link the server closed between two polls", async () => {
  const ok = () => stack.metric("vw_gateway_source_polls_total", { source: "slow-plc", outcome: "ok" });
  const reconnects = () => stack.metric("vw_gateway_source_reconnects_total", { source: "slow-plc" });
  for (let restart = 0; restart < 3; restart += 1) {
    const polls = await ok();
    // right after a poll: the restart fits between two slots
    expect(await until(async () => (await ok()) > polls, 10_000)).toBe(true);
    const reconnectsBefore = await reconnects();
    await server.restart();
    let afterReconnect = Infinity;
    const recovered = await until(async () => {
      if (afterReconnect === Infinity && (await reconnects()) > reconnectsBefore) afterReconnect = await ok();
      return (await ok()) > afterReconnect;
    }, 10_000);
    expect(recovered, `restart ${restart + 1} not recovered`).toBe(true);
  }
  expect(await stack.metric("vw_gateway_source_gaps_total", { source: "slow-plc" })).toBeGreaterThanOrEqual(3);
}, 120_000);
