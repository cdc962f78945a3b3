// `vibewatch pki` as an operator runs it: help for every subcommand, usage errors (exit 2) that
// name the bad option, operational errors (exit 1) in one line, and the gateway token that is
// written once to a 0600 file and never printed. Guards against a token leaking into a terminal
// or log, and a token hash the ingest service cannot verify.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pkiCommand } from "../../cli/commands/pki.js";
import { UsageError } from "../../cli/command.js";
import { verifyToken } from "../../cloud/auth/token-hash.js";

let root: string;
let dir: string;

interface Run {
  code: number;
  out: string;
  err: string;
}

/**
 * Runs `vibewatch <argv>` for the pki command in-process, mapping a UsageError to exit 2 as
 * cli/main.ts does. (Not through main(): the command registry also loads the simulator, whose
 * SES lockdown freezes `console`, and this test captures the console.)
 */
async function run(...argv: string[]): Promise<Run> {
  expect(argv[0]).toBe("pki");
  const out: string[] = [];
  const err: string[] = [];
  // swap the console methods for the call (vi.spyOn cannot redefine vitest's console)
  const original = { log: console.log, error: console.error, write: process.stdout.write };
  console.log = (...args: unknown[]) => void out.push(args.join(" "));
  console.error = (...args: unknown[]) => void err.push(args.join(" "));
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    let code: number;
    try {
      code = await pkiCommand.run(argv.slice(1));
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      err.push(error.message);
      code = 2;
    }
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.log = original.log;
    console.error = original.error;
    process.stdout.write = original.write;
  }
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "vw-test-pki-cli-"));
  dir = join(root, "pki");
  const init = await run("pki", "init", "--dir", dir);
  expect(init.code, init.err).toBe(0);
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("vibewatch pki", () => {
  it("has help for itself and every subcommand", async () => {
    const top = await run("pki", "--help");
    expect(top.code).toBe(0);
    for (const subcommand of ["init", "issue-device", "issue-gateway", "issue-server", "list", "revoke", "crl", "token"]) {
      expect(top.out).toContain(subcommand);
      const help = await run("pki", subcommand, "--help");
      expect(help.code, subcommand).toBe(0);
      expect(help.out).toContain(`Usage: vibewatch pki ${subcommand}`);
    }
  });

  it("answers bad usage with exit 2 and the option at fault", async () => {
    expect(await run("pki", "issue-device", "--id", "dev-1")).toMatchObject({ code: 2, err: expect.stringContaining("--dir is required") });
    expect(await run("pki", "issue-device", "--dir", dir, "--id", "dev-1", "--bogus")).toMatchObject({ code: 2, err: expect.stringContaining("--bogus") });
    expect(await run("pki", "issue-device", "--dir", dir, "--id", "dev-1", "--days", "soon")).toMatchObject({ code: 2, err: expect.stringContaining("--days") });
    expect(await run("pki", "revoke", "--dir", dir, "--device", "a", "--serial", "01")).toMatchObject({ code: 2, err: expect.stringContaining("exactly one") });
    expect(await run("pki", "revoke", "--dir", dir, "--device", "a", "--reason", "boredom")).toMatchObject({ code: 2, err: expect.stringContaining("--reason") });
    expect(await run("pki", "frobnicate", "--dir", dir)).toMatchObject({ code: 2, err: expect.stringContaining('unknown subcommand "frobnicate"') });
  });

  it("answers operational errors with exit 1 and one clear line", async () => {
    const again = await run("pki", "init", "--dir", dir);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/already holds a CA/);
    const badId = await run("pki", "issue-device", "--dir", dir, "--id", "Not_An_Id");
    expect(badId.code).toBe(1);
    expect(badId.err).toMatch(/invalid device id "Not_An_Id"/);
  });

  it("issues, lists and revokes through the command line", async () => {
    expect((await run("pki", "issue-device", "--dir", dir, "--id", "dev-1")).code).toBe(0);
    const gateway = await run("pki", "issue-gateway", "--dir", dir, "--id", "gw1", "--site", "plant1", "--ip", "192.168.1.20,127.0.0.1", "--dns", "gw1.lan");
    expect(gateway.code, gateway.err).toBe(0);
    expect(gateway.out).toContain("user gw.gw1\ntopic read vw/v1/plant1/+/#");
    expect((await run("pki", "issue-server", "--dir", dir, "--name", "ingest", "--dns", "ingest.example.com")).code).toBe(0);
    expect((await run("pki", "revoke", "--dir", dir, "--device", "dev-1")).code).toBe(0);
    const list = await run("pki", "list", "--dir", dir, "--json");
    const entries = JSON.parse(list.out) as Array<{ commonName: string; state: string; kind: string }>;
    expect(entries.map((e) => [e.kind, e.commonName, e.state])).toEqual([
      ["device", "dev-1", "revoked"],
      ["gateway", "gw.gw1", "valid"],
      ["server", "ingest", "valid"],
    ]);
  });

  it("writes a gateway token once to a 0600 file, never prints it, and prints a hash the ingest service verifies", async () => {
    const created = await run("pki", "token", "--dir", dir, "--gateway", "gw1");
    expect(created.code, created.err).toBe(0);
    const tokenFile = join(dir, "tokens", "gw1.token");
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const token = readFileSync(tokenFile, "utf8").trim();
    expect(token.length).toBeGreaterThan(40);
    expect(created.out + created.err).not.toContain(token);
    const hash = /tokenHash: "([^"]+)"/.exec(created.out)?.[1];
    expect(hash).toMatch(/^scrypt:[0-9a-f]+:[0-9a-f]{64}$/);
    expect(await verifyToken(token, hash!)).toBe(true);
    expect(await verifyToken(`${token}x`, hash!)).toBe(false);

    const twice = await run("pki", "token", "--dir", dir, "--gateway", "gw1");
    expect(twice.code).toBe(1);
    expect(twice.err).toContain("--rotate");
    expect(readFileSync(tokenFile, "utf8").trim()).toBe(token);
  });

  it("with --stdout puts only the token on stdout, for a secret store", async () => {
    const piped = await run("pki", "token", "--dir", dir, "--gateway", "gw2", "--stdout");
    expect(piped.code, piped.err).toBe(0);
    const token = piped.out.trim();
    expect(token).toMatch(/^gw2\.[A-Za-z0-9_-]{43}$/);
    const hash = /tokenHash: "([^"]+)"/.exec(piped.err)?.[1];
    expect(await verifyToken(token, hash!)).toBe(true);
  });
});
