// `vibewatch gateway --config F --check` validates the config and says what the gateway would meet
// (issue 19): whether the broker takes connections and the ingest service answers, on stderr (stdout
// stays the effective config as JSON), exit 0 either way for a valid config.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { freePort, startMosquitto, type MosquittoHandle } from "../helpers/services.js";
import { runCli } from "../helpers/run-cli.js";
import { testConfig, writeConfig } from "./helpers/gateway-fixture.js";

let broker: MosquittoHandle;
const dir = mkdtempSync(join(tmpdir(), "vw-gw-check-"));
beforeAll(async () => {
  broker = await startMosquitto();
});
afterAll(async () => {
  await broker?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

it("says the broker takes connections and the ingest does not answer, prints the config as JSON, exits 0", async () => {
  const silent = await freePort();
  const config = testConfig({ mqttUrl: broker.url, sinkUrl: `http://127.0.0.1:${silent}/v1/batches`, dir });
  const result = await runCli(["gateway", "--config", writeConfig(config, dir), "--check"], { timeoutMs: 60_000 });
  expect(result.code, result.stderr).toBe(0);
  expect(JSON.parse(result.stdout).gatewayId).toBe("gw-test");
  expect(result.stderr).toContain(`broker ${broker.url}: accepts connections`);
  expect(result.stderr).toMatch(new RegExp(`ingest http://127\\.0\\.0\\.1:${silent}/v1/batches: does not answer \\(ECONNREFUSED\\)`));
});

it("says when the broker does not answer", async () => {
  const silent = await freePort();
  const config = testConfig({ mqttUrl: `mqtt://127.0.0.1:${silent}`, sinkUrl: "http://127.0.0.1:9/v1/batches", dir });
  const result = await runCli(["gateway", "--config", writeConfig(config, dir), "--check"], { timeoutMs: 60_000 });
  expect(result.code).toBe(0);
  expect(result.stderr).toContain(`broker mqtt://127.0.0.1:${silent}: does not answer (ECONNREFUSED)`);
});
