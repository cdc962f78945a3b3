// The sources' configuration, one schema: each folder's sample.yaml is valid and shown verbatim in
// its README, the gateway's sample config has one source of each type, and a bad source entry
// names the field inside it (not "expected union value").
import { expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { loadConfig, validateConfig, ConfigError } from "../../gateway/config/load-config.js";

const base = { gatewayId: "gw-1", site: "plant-1" };

for (const type of ["modbus", "opcua", "json-mqtt"]) {
  it(`${type}: sample.yaml validates with the gateway's schema and the README shows it verbatim`, () => {
    const text = readFileSync(`gateway/sources/${type}/sample.yaml`, "utf8");
    const config = validateConfig({ ...base, ...(parse(text) as object) }, `${type}/sample.yaml`);
    expect(config.sources.length).toBeGreaterThan(0);
    expect(config.sources.every((source) => source.type === type)).toBe(true);
    expect(readFileSync(`gateway/sources/${type}/README.md`, "utf8")).toContain(text.trim());
  });
}

it("the gateway's sample config shows one source of each type, with their defaults applied", () => {
  const config = loadConfig("gateway/sample-config.yaml", {});
  expect(config.sources.map((source) => source.type).sort()).toEqual(["json-mqtt", "modbus", "opcua"]);
  const modbus = config.sources.find((source) => source.type === "modbus");
  expect(modbus?.type === "modbus" && modbus.reconnectMaxMs).toBe(5000);
  expect(modbus?.type === "modbus" && modbus.registers[0]?.scale).toBe(1);
});

it("names the bad field inside a source entry", () => {
  const bad = (source: unknown) => () => validateConfig({ ...base, sources: [source] }, "x.yaml");
  const modbus = { type: "modbus", name: "plc-1", host: "h", measurement: "plc", registers: [{ field: "a", address: 0, type: "float64" }] };
  expect(bad(modbus)).toThrow(ConfigError);
  expect(bad(modbus)).toThrow(/sources\.0\.registers\.0\.type/);
  expect(bad({ ...modbus, registers: [{ field: "a", address: 0, colour: 1 }] })).toThrow(/sources\.0\.registers\.0\.colour: unknown field/);
  expect(bad({ type: "bacnet", name: "x" })).toThrow(/sources\.0\.type: want one of modbus, opcua, json-mqtt \(got "bacnet"\)/);
  expect(bad({ type: "json-mqtt", name: "j", mappings: [{ topic: "a/b", measurement: "vw_tele", fields: [{ field: "x", path: "$.x" }] }] })).toThrow(/sources\.0\.mappings\.0\.measurement/);
  expect(bad({ type: "opcua", name: "o", endpointUrl: "http://x", measurement: "m", nodes: [{ nodeId: "i=1", field: "f" }] })).toThrow(/sources\.0\.endpointUrl/);
});
