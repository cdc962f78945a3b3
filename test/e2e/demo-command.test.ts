// The README's first command: `vibewatch demo` runs the whole chain and ends with a summary of
// 0 missing and 0 duplicated, with the embedded store (a machine with nothing installed) and
// with a private InfluxDB (a machine with influxd).
import { describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { runCli } from "../helpers/run-cli.js";

interface DemoJson {
  storage: string;
  devices: number;
  sentByDevices: number;
  stored: number;
  missing: number;
  duplicated: number;
  audit: { totals: { boots: number } };
}

async function demo(args: string[]): Promise<DemoJson> {
  const result = await runCli(["demo", "--devices", "2", "--duration", "20", "--heartbeat", "5", "--json", ...args], { timeoutMs: 180_000 });
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as DemoJson;
}

describe("vibewatch demo", { timeout: 240_000 }, () => {
  it("runs on the embedded store and stores every message once", async () => {
    const summary = await demo(["--embedded"]);
    expect(summary.storage).toBe("embedded store");
    expect(summary.audit.totals.boots).toBe(2);
    expect(summary.sentByDevices).toBeGreaterThan(0);
    expect(summary.stored).toBeGreaterThanOrEqual(summary.sentByDevices);
    expect(summary).toMatchObject({ missing: 0, duplicated: 0 });
  });

  it("starts a private InfluxDB when influxd is installed and stores every message once", async () => {
    expect(existsSync("/usr/bin/influxd"), "scripts/setup installs influxd").toBe(true);
    const summary = await demo([]);
    expect(summary.storage).toMatch(/private InfluxDB/);
    expect(summary.stored).toBeGreaterThanOrEqual(summary.sentByDevices);
    expect(summary).toMatchObject({ missing: 0, duplicated: 0 });
  });
});
