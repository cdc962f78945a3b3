// A private InfluxDB 1.x for the demo when `influxd` is installed: its own folder, loopback
// ports, no reporting, stopped with the demo. Production users point at their own InfluxDB.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, openSync, closeSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

export const INFLUXD_CANDIDATES = ["/usr/bin/influxd", "/usr/local/bin/influxd"];

export function findInfluxd(): string | undefined {
  return INFLUXD_CANDIDATES.find((path) => existsSync(path));
}

export interface LocalInfluxd {
  url: string;
  database: string;
  stop(): Promise<void>;
}

export async function freeLoopbackPort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

export async function startLocalInfluxd(binary: string, dir: string, database = "vibewatch"): Promise<LocalInfluxd> {
  mkdirSync(dir, { recursive: true });
  const httpPort = await freeLoopbackPort();
  const rpcPort = await freeLoopbackPort();
  const config = join(dir, "influxdb.conf");
  writeFileSync(
    config,
    [
      "reporting-disabled = true",
      `bind-address = "127.0.0.1:${rpcPort}"`,
      `[meta]\n  dir = "${join(dir, "meta")}"`,
      `[data]\n  dir = "${join(dir, "data")}"\n  wal-dir = "${join(dir, "wal")}"\n  query-log-enabled = false`,
      "[monitor]\n  store-enabled = false",
      `[http]\n  bind-address = "127.0.0.1:${httpPort}"\n  log-enabled = false`,
      "[continuous_queries]\n  enabled = false",
      "",
    ].join("\n"),
  );
  const log = openSync(join(dir, "influxd.log"), "a");
  const child: ChildProcess = spawn(binary, ["-config", config], { stdio: ["ignore", log, log] });
  closeSync(log);
  const url = `http://127.0.0.1:${httpPort}`;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`influxd exited at start; see ${join(dir, "influxd.log")}`);
    const ok = await fetch(`${url}/ping`).then((r) => r.status === 204, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error("influxd did not answer within 30 s");
    await new Promise((r) => setTimeout(r, 100));
  }
  const created = await fetch(`${url}/query`, { method: "POST", body: new URLSearchParams({ q: `CREATE DATABASE "${database}"` }) });
  if (!created.ok) throw new Error(`influxd: CREATE DATABASE failed (${created.status})`);
  return {
    url,
    database,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
