// `vibewatch ingest` as a process: --help, bad options, --check, --hash-token, and a real run that
// listens, stores a batch in the embedded store, and exits 0 on SIGTERM after draining.
import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startInfluxDb } from "../helpers/services.js";
import { main } from "../../cli/main.js";
import { UsageError } from "../../cli/command.js";
import { ingestCommand } from "../../cli/commands/ingest.js";
import { verifyToken } from "../../cloud/auth/token-hash.js";
import { EmbeddedStore } from "../../cloud/storage/embedded-store.js";
import { cborEncoder } from "../../protocol/schema/validate.js";
import { makeBatch, makeTokens, teleRecord } from "./helpers/ingest-fixture.js";

const CLI = `import("./cli/main.ts").then((m) => m.main(process.argv.slice(1))).then((code) => { process.exitCode = code; })`;

function runCli(args: string[], options: { stdin?: string; env?: Record<string, string> } = {}) {
  const child = spawn(process.execPath, ["--import", "tsx", "-e", CLI, "--", ...args], { env: { ...process.env, ...options.env }, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  child.stdin.end(options.stdin ?? "");
  const exited = new Promise<number>((resolve) => child.on("exit", (code) => resolve(code ?? -1)));
  return { child, exited, output: () => ({ stdout, stderr }) };
}

describe("vibewatch ingest command", () => {
  it("prints its help, and refuses unknown options and a stray --algorithm with a usage error", async () => {
    expect(await ingestCommand.run(["--help"])).toBe(0);
    await expect(ingestCommand.run(["--nope"])).rejects.toBeInstanceOf(UsageError);
    await expect(ingestCommand.run(["--config", "cloud/config/sample-config.yaml", "--algorithm", "sha256"])).rejects.toBeInstanceOf(UsageError);
    expect(await main(["ingest", "--bogus"])).toBe(2);
  });

  it("checks a config: the sample passes, a broken one fails naming the field", async () => {
    expect(await ingestCommand.run(["--config", "cloud/config/sample-config.yaml", "--check"])).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), "vw-ingest-cmd-"));
    try {
      writeFileSync(join(dir, "bad.yaml"), "listen:\n  port: 99999\n");
      // 2, as the gateway's: a config error is a usage error (it was 1 here, 2 there: issue 19)
      expect(await ingestCommand.run(["--config", join(dir, "bad.yaml"), "--check"])).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("--check tries the storage and says what it found, answering or not (issue 19)", async () => {
    const influx = await startInfluxDb();
    const dir = mkdtempSync(join(tmpdir(), "vw-ingest-check-"));
    try {
      writeFileSync(join(dir, "ingest.yaml"), `storage: { type: influx-v1, url: "${influx.url}", database: vw_check }\ngateways: []\n`);
      const run = runCli(["ingest", "--config", join(dir, "ingest.yaml"), "--check"]);
      expect(await run.exited).toBe(0);
      expect(run.output().stdout).toContain(`storage influx-v1 ${influx.url} database vw_check: answers`);
      expect(run.output().stdout).toContain("no gateways (none can post");
      await influx.stop();
      const down = runCli(["ingest", "--config", join(dir, "ingest.yaml"), "--check"]);
      // a valid config is exit 0 even so: a check also runs where the storage is out of reach
      expect(await down.exited).toBe(0);
      expect(down.output().stdout).toContain("database vw_check: does not answer");
    } finally {
      await influx.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it("says at start when its storage does not answer, and still stops cleanly on SIGTERM (issue 19)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vw-ingest-nostorage-"));
    const port = await freePort();
    try {
      writeFileSync(join(dir, "ingest.yaml"), `listen: { host: 127.0.0.1, port: ${port} }\nstorage: { type: influx-v1, url: "http://127.0.0.1:${await freePort()}", database: vw, timeoutMs: 500 }\ngateways: []\n`);
      const run = runCli(["ingest", "--config", join(dir, "ingest.yaml")]);
      for (let i = 0; i < 300 && !run.output().stdout.includes("storage does not answer"); i += 1) await new Promise((r) => setTimeout(r, 100));
      expect(run.output().stdout).toMatch(/"storage":"influx-v1 http:\/\/127\.0\.0\.1:\d+ database vw".*storage does not answer/);
      run.child.kill("SIGTERM");
      expect(await run.exited).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it("hashes a token read from stdin into a tokenHash the service accepts", async () => {
    const run = runCli(["ingest", "--hash-token", "--algorithm", "sha256"], { stdin: "gw-plant-1.some-secret\n" });
    expect(await run.exited).toBe(0);
    const hash = run.output().stdout.trim();
    expect(hash).toMatch(/^sha256:[0-9a-f]{32}:[0-9a-f]{64}$/);
    expect(await verifyToken("gw-plant-1.some-secret", hash)).toBe(true);
  });

  it("serves batches into the embedded store and exits 0 on SIGTERM", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vw-ingest-run-"));
    const tokens = await makeTokens();
    const port = await freePort();
    const dbPath = join(dir, "ingest.sqlite");
    writeFileSync(
      join(dir, "ingest.yaml"),
      [`listen: { host: 127.0.0.1, port: ${port} }`, `storage: { type: embedded, path: ${JSON.stringify(dbPath)} }`, "log: { level: warn }", "gateways:", ...tokens.gateways.map((g) => `  - { id: ${g.id}, tokenHash: "${g.tokenHash}" }`)].join("\n"),
    );
    const run = runCli(["ingest", "--config", join(dir, "ingest.yaml")]);
    try {
      let healthy = false;
      for (let i = 0; i < 300 && !healthy; i += 1) {
        healthy = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
        if (!healthy) await new Promise((r) => setTimeout(r, 100));
      }
      expect(healthy).toBe(true);
      const batch = makeBatch([teleRecord("cmd-pump", 1), teleRecord("cmd-pump", 2)]);
      const response = await fetch(`http://127.0.0.1:${port}/v1/batches`, {
        method: "POST",
        headers: { "content-type": "application/cbor", authorization: `Bearer ${tokens.token}` },
        body: Buffer.from(cborEncoder.encode(batch)),
      });
      expect(response.status).toBe(200);
      expect(((await response.json()) as { stored: number[] }).stored).toEqual(batch.recs.map((r) => r.id));
      run.child.kill("SIGTERM");
      expect(await run.exited).toBe(0);
      const store = new EmbeddedStore({ path: dbPath });
      expect(store.readPoints("vw_tele", "cmd-pump").map((p) => p.fields.rid)).toEqual(batch.recs.map((r) => r.id));
      await store.close();
    } finally {
      run.child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
