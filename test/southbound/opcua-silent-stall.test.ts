// The link to an OPC UA server goes silent (packets dropped, no reset, no close: the stall that
// leaves a subscription waiting for good) while the server keeps running. The gateway notices
// that nothing arrives, not even a keep-alive, rebuilds the session and subscription once the
// link carries bytes again, and counts the silent intervals as gaps.
import { afterAll, beforeAll, expect, it } from "vitest";
import { join } from "node:path";
import { SouthboundStack, until } from "./helpers/southbound-stack.js";
import { startOpcuaServer, type OpcuaPeer } from "./helpers/opcua-peer.js";
import { SilentLinkStandIn } from "./helpers/silent-link-stand-in.js";

const stack = new SouthboundStack();
let server: OpcuaPeer;
let link: SilentLinkStandIn;
const SOURCE = "silent-opcua";

beforeAll(async () => {
  await stack.start();
  server = await startOpcuaServer(50);
  link = await SilentLinkStandIn.start("127.0.0.1", server.port);
  await stack.startGateway([
    {
      type: "opcua",
      name: SOURCE,
      endpointUrl: `opc.tcp://127.0.0.1:${link.port}`,
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
  await link?.close();
  await server?.dispose();
});

it("detects a silent link, rebuilds the subscription after it, and counts the silence as gaps", async () => {
  const notified = () => stack.metric("vw_gateway_source_polls_total", { source: SOURCE, outcome: "ok" });
  const reconnects = () => stack.metric("vw_gateway_source_reconnects_total", { source: SOURCE });
  expect(await until(async () => (await notified()) >= 10, 60_000)).toBe(true);
  const reconnectsBefore = await reconnects();
  link.freeze();
  // the stall bound is max(3 keep-alive periods, 2 s) = 2 s here: the source must give up on the session
  expect(await until(async () => (await stack.metric("vw_gateway_source_connected", { source: SOURCE })) === 0, 10_000)).toBe(true);
  link.thaw();
  let afterRebuild = Infinity;
  const restored = await until(async () => {
    if (afterRebuild === Infinity && (await reconnects()) > reconnectsBefore) afterRebuild = await notified();
    return (await notified()) > afterRebuild;
  }, 15_000);
  expect(restored).toBe(true);
  const gateway = stack.gateway!;
  const opcua = gateway.sources[0]!;
  // at least the 2 s of silence at 100 ms
  expect(opcua.stream.gaps).toBeGreaterThanOrEqual(15);
  await opcua.stop();
  expect(await until(() => gateway.buffer.stats().records === 0, 30_000)).toBe(true);
  const { report } = await stack.audit();
  const boot = report.boots.find((b) => b.device === SOURCE && b.boot === opcua.stream.boot)!;
  expect(boot.missing).toBe(opcua.stream.gaps);
  expect(boot.unexplained).toBe(0);
}, 120_000);
