// A private InfluxDB 1.x (Debian's 1.6.7: v1 HTTP API only) for a test: free ports, data in a
// temporary folder. stop()/start() keep the data, so outage tests can take it away and back.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ManagedProcess, httpOk } from "./managed-process.js";
import { freePort } from "./free-port.js";

export const INFLUXD_BIN = process.env.VW_INFLUXD ?? "/usr/bin/influxd";

export interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

export interface InfluxHandle {
  url: string;
  port: number;
  dir: string;
  process: ManagedProcess;
  createDatabase(name: string): Promise<void>;
  /** runs InfluxQL; returns the series of the first statement (throws on an error) */
  query(q: string, database?: string): Promise<InfluxSeries[]>;
  /** writes line protocol with /write (precision given) */
  write(database: string, lines: string, precision?: "ns" | "u" | "ms" | "s"): Promise<void>;
  stop(): Promise<void>;
  start(): Promise<void>;
  kill(): Promise<void>;
  log(): string;
  dispose(): Promise<void>;
}

export async function startInfluxDb(): Promise<InfluxHandle> {
  const httpPort = await freePort();
  const rpcPort = await freePort();
  const url = `http://127.0.0.1:${httpPort}`;
  const process_ = new ManagedProcess({
    name: "influxd",
    command: INFLUXD_BIN,
    args: (dir) => ["-config", join(dir, "influxdb.conf")],
    ready: () => httpOk(`${url}/ping`),
  });
  const dir = process_.dir;
  writeFileSync(
    join(dir, "influxdb.conf"),
    [
      "reporting-disabled = true",
      `bind-address = "127.0.0.1:${rpcPort}"`,
      "[meta]",
      `  dir = "${join(dir, "meta")}"`,
      "[data]",
      `  dir = "${join(dir, "data")}"`,
      `  wal-dir = "${join(dir, "wal")}"`,
      "  query-log-enabled = false",
      "  wal-fsync-delay = \"0s\"",
      "[coordinator]",
      "[retention]",
      "  enabled = false",
      "[monitor]",
      "  store-enabled = false",
      "[http]",
      `  bind-address = "127.0.0.1:${httpPort}"`,
      "  log-enabled = false",
      "[continuous_queries]",
      "  enabled = false",
      "",
    ].join("\n"),
  );
  await process_.start();

  const query = async (q: string, database?: string): Promise<InfluxSeries[]> => {
    const params = new URLSearchParams({ q, epoch: "u" });
    if (database) params.set("db", database);
    const response = await fetch(`${url}/query`, { method: "POST", body: params });
    const body = (await response.json()) as { results?: { series?: InfluxSeries[]; error?: string }[]; error?: string };
    if (!response.ok || body.error) throw new Error(`InfluxDB query failed (${response.status}): ${body.error ?? ""}`);
    const first = body.results?.[0];
    if (first?.error) throw new Error(`InfluxDB query failed: ${first.error}`);
    return first?.series ?? [];
  };

  return {
    url,
    port: httpPort,
    dir,
    process: process_,
    createDatabase: async (name) => {
      await query(`CREATE DATABASE "${name}"`);
    },
    query,
    write: async (database, lines, precision = "u") => {
      const response = await fetch(`${url}/write?db=${encodeURIComponent(database)}&precision=${precision}`, { method: "POST", body: lines });
      if (response.status !== 204) throw new Error(`InfluxDB write failed (${response.status}): ${await response.text()}`);
    },
    stop: () => process_.stop(),
    start: () => process_.start(),
    kill: () => process_.kill(),
    log: () => process_.log(),
    dispose: () => process_.dispose(),
  };
}
