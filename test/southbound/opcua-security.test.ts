// OPC UA with security: SignAndEncrypt, Basic256Sha256 and a user name identity against a
// node-opcua server that refuses anonymous sessions. The gateway trusts the server's certificate
// (placed in its pkiDir's trusted store, as a site engineer would), and its data arrives; a wrong
// password is refused by the server, logged, retried, and the source reports itself down.
import { afterAll, beforeAll, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { OPCUACertificateManager } from "node-opcua";
import { SouthboundStack, until } from "./helpers/southbound-stack.js";
import { startOpcuaServer, type OpcuaPeer } from "./helpers/opcua-peer.js";

const stack = new SouthboundStack();
let server: OpcuaPeer;

const source = (name: string, passwordFile: string) => ({
  type: "opcua",
  name,
  endpointUrl: server.endpointUrl,
  securityMode: "SignAndEncrypt",
  securityPolicy: "Basic256Sha256",
  username: "vibewatch",
  passwordFile,
  pkiDir: join(stack.dir, "opcua-pki"),
  samplingIntervalMs: 100,
  reconnectMs: 200,
  reconnectMaxMs: 1000,
  measurement: "secure_plc",
  nodes: [{ nodeId: "ns=1;s=Motor.Current", field: "motor_current_a" }],
});

beforeAll(async () => {
  await stack.start();
  server = await startOpcuaServer(50, 300, "vibewatch:s3cret");
  // trust the server's certificate in the gateway's store (node-opcua's own certificate manager)
  const store = new OPCUACertificateManager({ rootFolder: join(stack.dir, "opcua-pki"), automaticallyAcceptUnknownCertificate: false });
  await store.initialize();
  const pem = readFileSync(join(server.dir, "pki", "own", "certs", "certificate.pem"), "utf8");
  await store.trustCertificate(Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ""), "base64"));
  await store.dispose();
  writeFileSync(join(stack.dir, "good.password"), "s3cret\n");
  writeFileSync(join(stack.dir, "bad.password"), "guess\n");
  await stack.startGateway([source("secure-opcua", join(stack.dir, "good.password")), source("wrong-password", join(stack.dir, "bad.password"))]);
}, 120_000);

afterAll(async () => {
  await stack.stop();
  await server?.dispose();
});

it("subscribes over SignAndEncrypt with a user name identity; a wrong password gets nothing", async () => {
  const ok = (name: string) => stack.metric("vw_gateway_source_polls_total", { source: name, outcome: "ok" });
  expect(await until(async () => (await ok("secure-opcua")) >= 5, 60_000)).toBe(true);
  expect(await stack.metric("vw_gateway_source_connected", { source: "secure-opcua" })).toBe(1);
  expect(await ok("wrong-password")).toBe(0);
  expect(await stack.metric("vw_gateway_source_connected", { source: "wrong-password" })).toBe(0);
});
