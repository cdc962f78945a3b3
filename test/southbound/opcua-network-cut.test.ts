// Issue 18: the network between the gateway and an OPC UA server (node-opcua's, its own process)
// is cut three times (the fault-injecting TCP proxy, a stand-in for a pulled cable: it drops the
// connections and refuses new ones until restored). The server keeps running; every cut is
// followed by a rebuilt subscription with notifications, and the intervals the cut cost are gaps,
// counted and explained in the audit.
import { afterAll, beforeAll, expect, it } from "vitest";
import { join } from "node:path";
import { SouthboundStack, until } from "./helpers/southbound-stack.js";
import { startOpcuaServer, type OpcuaPeer } from "./helpers/opcua-peer.js";
import { FaultInjectingTcpProxy } from "../e2e/helpers/fault-injecting-tcp-proxy.js";

const stack = new SouthboundStack();
let server: OpcuaPeer;
let proxy: FaultInjectingTcpProxy;
const SOURCE = "press-opcua";

beforeAll(async () => {
  await stack.start();
  server = await startOpcuaServer(50);
  proxy = await FaultInjectingTcpProxy.start("127.0.0.1", server.port);
  await stack.startGateway([
    {
      type: "opcua",
      name: SOURCE,
      endpointUrl: `opc.tcp://127.0.0.1:${proxy.port}`,
      pkiDir: join(stack.dir, "opcua-pki"),
      samplingIntervalMs: 100,
      keepAliveCount: 5,
      reconnectMs: 100,
      reconnectMaxMs: 1000,
      measurement: "press",
      nodes: [{ nodeId: "ns=1;s=Motor.Current", field: "motor_current_a" }],
    },
  ]);
}, 120_000);

afterAll(async () => {
  await stack.stop();
  await proxy?.close();
  await server?.dispose();
});

it("rebuilds the subscription after each network cut and counts the missed intervals", async () => {
  const notified = () => stack.metric("vw_gateway_source_polls_total", { source: SOURCE, outcome: "ok" });
  const reconnects = () => stack.metric("vw_gateway_source_reconnects_total", { source: SOURCE });
  const gaps = () => stack.metric("vw_gateway_source_gaps_total", { source: SOURCE });
  expect(await until(async () => (await notified()) >= 10, 60_000)).toBe(true);
  for (let cut = 0; cut < 3; cut += 1) {
    const reconnectsBefore = await reconnects();
    const gapsBefore = await gaps();
    proxy.cut();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    proxy.restore();
    const restoredAt = Date.now();
    let afterRebuild = Infinity;
    const restored = await until(async () => {
      if (afterRebuild === Infinity && (await reconnects()) > reconnectsBefore) afterRebuild = await notified();
      return (await notified()) > afterRebuild;
    }, 10_000);
    expect(restored, `cut ${cut + 1}: subscription not restored within 10 s`).toBe(true);
    expect(Date.now() - restoredAt).toBeLessThan(10_000);
    // 1.5 s without the server at a 100 ms sampling interval
    expect((await gaps()) - gapsBefore).toBeGreaterThanOrEqual(10);
  }
  const gateway = stack.gateway!;
  const opcua = gateway.sources[0]!;
  await opcua.stop();
  expect(await until(() => gateway.buffer.stats().records === 0, 30_000)).toBe(true);
  const { report } = await stack.audit();
  const boot = report.boots.find((b) => b.device === SOURCE && b.boot === opcua.stream.boot)!;
  expect(boot.missing).toBe(opcua.stream.gaps);
  expect(boot.unexplained).toBe(0);
  expect(boot.duplicated).toBe(0);
}, 180_000);
