// The one CLI: help on every command, clear errors and non-zero exits for mistakes.
import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../helpers/run-cli.js";
import { commands } from "../../cli/commands/index.js";
import { encodeCbor, type CborValue } from "../../protocol/cbor-encoder.js";
import { sampleTelemetry } from "../../protocol/examples.js";

describe("vibewatch CLI", () => {
  it("lists every command in --help", async () => {
    const result = await runCli(["--help"]);
    expect(result.code).toBe(0);
    for (const command of commands) expect(result.stdout).toContain(command.name);
  });

  it("gives every command a --help that exits 0", async () => {
    for (const command of commands) {
      const result = await runCli([command.name, "--help"]);
      expect(result.code, command.name).toBe(0);
      expect(result.stdout, command.name).toMatch(/Usage: vibewatch/);
    }
  });

  it("rejects an unknown command with a clear error", async () => {
    const result = await runCli(["frobnicate"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown command "frobnicate"');
  });

  it("rejects an unknown option with a clear error", async () => {
    const result = await runCli(["contract", "--kind", "tele", "--bogus"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--bogus");
  });

  it("validates a payload file and names the bad field", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vw-cli-"));
    const good = join(dir, "good.cbor");
    const bad = join(dir, "bad.cbor");
    writeFileSync(good, encodeCbor(sampleTelemetry as unknown as CborValue));
    writeFileSync(bad, encodeCbor({ ...sampleTelemetry, z: 7 } as unknown as CborValue));
    const ok = await runCli(["contract", "--kind", "tele", "--device", "pump-07", good]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual(sampleTelemetry);
    const rejected = await runCli(["contract", "--kind", "tele", bad]);
    expect(rejected.code).toBe(1);
    expect(rejected.stderr).toMatch(/VW_SCHEMA \/z/);
  });
});
