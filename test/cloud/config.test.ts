// The ingest config: the sample file is valid under the service's own schema, the environment
// overrides it, and a bad setting is refused with an error naming it.
import { describe, expect, it } from "vitest";
import { applyEnvironment, ConfigError, environmentNames, loadConfig, parseConfig } from "../../cloud/config/load.js";
import { createWriter } from "../../cloud/storage/create-writer.js";

const SAMPLE = "cloud/config/sample-config.yaml";

describe("ingest config", () => {
  it("accepts the sample config with the service's schema", () => {
    const config = loadConfig(SAMPLE, {});
    expect(config.storage).toMatchObject({ type: "influx-v1", database: "vibewatch", maxLinesPerWrite: 5000 });
    expect(config.gateways.map((g) => g.id)).toEqual(["gw-plant-1"]);
  });

  it("lets VW_INGEST_* variables override the file, converting numbers and booleans", () => {
    const config = loadConfig(SAMPLE, { VW_INGEST_LISTEN_PORT: "9123", VW_INGEST_STORAGE_PASSWORD: "s3cret", VW_INGEST_WRITES_MAX_CONCURRENT: "3" });
    expect(config.listen.port).toBe(9123);
    expect(config.storage).toMatchObject({ password: "s3cret" });
    expect(config.writes.maxConcurrent).toBe(3);
    expect(environmentNames().has("VW_INGEST_TLS_REQUIRE_CLIENT_CERT")).toBe(true);
    expect(applyEnvironment({}, { VW_INGEST_TLS_REQUIRE_CLIENT_CERT: "true" })).toEqual({ tls: { requireClientCert: true } });
  });

  it("refuses an unknown VW_INGEST_ variable, a non-number, and a bad field, naming each", () => {
    expect(() => loadConfig(SAMPLE, { VW_INGEST_LISTEN_PROT: "1" })).toThrow(/VW_INGEST_LISTEN_PROT: unknown setting/);
    expect(() => loadConfig(SAMPLE, { VW_INGEST_LISTEN_PORT: "eighty" })).toThrow(/VW_INGEST_LISTEN_PORT: expected a number/);
    expect(() => parseConfig({ listen: { port: 70000 } })).toThrow(/\/listen\/port/);
    expect(() => parseConfig({ gateways: [{ id: "gw-1", tokenHash: "plain-text-token" }] })).toThrow(/\/gateways\/0\/tokenHash/);
    expect(() => parseConfig({ storage: { type: "influx-v2", url: "http://x", org: "o", bucket: "b" } })).toThrow(/\/storage\/token/);
    expect(() => parseConfig({ storage: { type: "mongodb" } })).toThrow(/\/storage\/type/);
    expect(() => parseConfig({ surprise: true })).toThrow(ConfigError);
  });

  it("names the file and every bad field in one error, not only the first (issue 19)", () => {
    let message = "";
    try {
      parseConfig({ listen: { port: 70000 }, writes: { maxConcurrent: 0 }, storage: { type: "influx-v2", url: "http://x", org: "o", bucket: "b" } }, "/etc/vibewatch/ingest.yaml");
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^\/etc\/vibewatch\/ingest\.yaml: invalid ingest config/);
    for (const field of ["/listen/port", "/writes/maxConcurrent", "/storage/token"]) expect(message).toContain(field);
  });

  it("uses the embedded store when no storage is configured", async () => {
    const config = parseConfig({ storage: { type: "embedded", path: ":memory:" } });
    const writer = createWriter(config.storage);
    expect(writer.kind).toBe("embedded");
    await writer.close();
    expect(parseConfig({}).storage).toBeUndefined();
  });
});
