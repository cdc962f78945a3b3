// `vibewatch gateway` stopped (SIGTERM) while it is still starting, because its broker cannot be
// reached: a logged, clean stop and exit 0, as systemd expects (issue 19: it exited 143 without a
// line, the signal handlers being installed only after start-up, which waits for the broker).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { freePort, httpOk, ManagedProcess } from "../helpers/services.js";
import { testConfig, writeConfig } from "./helpers/gateway-fixture.js";

const dir = mkdtempSync(join(tmpdir(), "vw-gw-sigterm-"));
let child: ManagedProcess | undefined;
afterAll(async () => {
  await child?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

it("stops cleanly with exit 0 and says so when SIGTERM comes while the broker is unreachable", async () => {
  const httpPort = await freePort();
  const deadBrokerPort = await freePort(); // nothing listens: start-up waits for its connect timeout
  const config = testConfig({ mqttUrl: `mqtt://127.0.0.1:${deadBrokerPort}`, sinkUrl: "http://127.0.0.1:9/", dir, overrides: { logLevel: "info", http: { port: httpPort } } });
  const configPath = writeConfig(config, dir);
  child = new ManagedProcess({
    name: "gateway",
    command: process.execPath,
    args: () => ["--import", "tsx", "test/gateway/helpers/gateway-cli-entry.ts", "gateway", "--config", configPath],
    // the ops server listens before the broker connection is tried
    ready: () => httpOk(`http://127.0.0.1:${httpPort}/healthz`, [200, 503]),
  });
  await child.start();
  expect(child.log()).not.toContain("gateway started");
  // stop(): SIGTERM, and SIGKILL only if it is still running 5 s later
  await child.stop();
  expect(child.exitCode).toBe(0);
  const log = child.log();
  expect(log).toMatch(/"signal":"SIGTERM".*"msg":"stopping"/);
  expect(log).toContain('"msg":"gateway stopped"');
}, 60_000);
