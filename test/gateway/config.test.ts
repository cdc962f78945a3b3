// Guards against a gateway that starts with a config nobody checked: the sample config shown in the
// README passes the same schema the gateway uses; bad fields are named; env overrides apply; the
// token never comes from argv and never reaches a log line.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, expect, it } from "vitest";
import { Value } from "@sinclair/typebox/value";
import { parse as parseYaml } from "yaml";
import { GatewayConfigSchema } from "../../gateway/config/config-schema.js";
import { ConfigError, loadConfig, readToken, validateConfig } from "../../gateway/config/load-config.js";
import { createLogger } from "../../gateway/logger.js";
import { gatewayCommand } from "../../cli/commands/gateway.js";
import { UsageError } from "../../cli/command.js";

const dir = mkdtempSync(join(tmpdir(), "vw-gw-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it("accepts the sample config with the schema the gateway uses, and the README shows it verbatim", () => {
  const config = loadConfig("gateway/sample-config.yaml", {});
  expect(Value.Check(GatewayConfigSchema, config)).toBe(true);
  expect(config.buffer.synchronous).toBe("FULL");
  expect(config.mqtt.sites).toEqual(["plant-1"]);
  const readme = readFileSync("gateway/README.md", "utf8");
  expect(readme).toContain(readFileSync("gateway/sample-config.yaml", "utf8").trim());
  expect(Value.Check(GatewayConfigSchema, parseYaml(readFileSync("gateway/sample-config.yaml", "utf8")))).toBe(true);
});

it("names the bad field, the unknown field and the missing field", () => {
  expect(() => validateConfig({ gatewayId: "gw-1", site: "s", sink: { batchMaxRecords: 0 } }, "x.yaml")).toThrow(/sink\.batchMaxRecords/);
  expect(() => validateConfig({ gatewayId: "gw-1", site: "s", buffer: { maxByte: 5 } }, "x.yaml")).toThrow(/buffer\.maxByte: unknown field/);
  expect(() => validateConfig({ site: "s" }, "x.yaml")).toThrow(/gatewayId/);
  expect(() => validateConfig({ gatewayId: "GW 1", site: "s" }, "x.yaml")).toThrow(/gatewayId/);
  expect(() => validateConfig([], "x.yaml")).toThrow(ConfigError);
});

it("applies VW_GATEWAY_* overrides over the file, typed, and rejects a bad one by name", () => {
  const env = { VW_GATEWAY_SINK_URL: "http://10.0.0.1:9000/v1/batches", VW_GATEWAY_BUFFER_MAX_BYTES: "1048576", VW_GATEWAY_MQTT_SITES: "a-1,b-2" };
  const config = validateConfig({ gatewayId: "gw-1", site: "s" }, "x.yaml", env);
  expect(config.sink.url).toBe("http://10.0.0.1:9000/v1/batches");
  expect(config.buffer.maxBytes).toBe(1048576);
  expect(config.mqtt.sites).toEqual(["a-1", "b-2"]);
  expect(() => validateConfig({ gatewayId: "gw-1", site: "s" }, "x.yaml", { VW_GATEWAY_SINK_MAX_IN_FLIGHT: "many" })).toThrow(/VW_GATEWAY_SINK_MAX_IN_FLIGHT/);
});

it("reads the token from the environment or the token file, and redacts it in logs", () => {
  const tokenFile = join(dir, "token");
  writeFileSync(tokenFile, "file-token\n");
  const config = validateConfig({ gatewayId: "gw-1", site: "s", sink: { tokenFile } }, "x.yaml");
  expect(readToken(config, {})).toBe("file-token");
  expect(readToken(config, { VW_GATEWAY_SINK_TOKEN: "env-token" })).toBe("env-token");
  let output = "";
  const sink = new Writable({ write: (chunk, _encoding, done) => ((output += String(chunk)), done()) });
  createLogger("info", sink).info({ token: "file-token", headers: { authorization: "Bearer file-token" } }, "request");
  expect(output).toContain("[redacted]");
  expect(output).not.toContain("file-token");
});

it("has no --token option: a bad option is a usage error, and --check validates a config file", async () => {
  await expect(gatewayCommand.run(["--config", "x", "--token", "t"])).rejects.toThrow(UsageError);
  await expect(gatewayCommand.run([])).rejects.toThrow(/--config/);
  const bad = join(dir, "bad.yaml");
  writeFileSync(bad, "gatewayId: gw-1\nsite: s\nsink:\n  timeoutMs: -1\n");
  expect(await gatewayCommand.run(["--config", bad, "--check"])).toBe(2);
});
