// A private VictoriaMetrics: a real server implementing InfluxDB's /api/v2/write, used to test the
// @influxdata/influxdb-client (v2) write path, since Debian's InfluxDB 1.6.7 has no v2 API.
// Read points back with exportSeries(): field f of measurement m comes back as metric "m_f".
import { ManagedProcess, httpOk } from "./managed-process.js";
import { freePort } from "./free-port.js";

export const VICTORIA_BIN = process.env.VW_VICTORIA ?? "/usr/bin/victoria-metrics";

export interface ExportedSeries {
  metric: Record<string, string>;
  values: number[];
  timestamps: number[];
}

export interface VictoriaHandle {
  url: string;
  port: number;
  dir: string;
  process: ManagedProcess;
  /** /api/v1/export for a series selector, e.g. '{__name__=~"vw_tele_.*"}' */
  /** polls until at least minSeries series are exported (default 1) or the timeout passes */
  exportSeries(match: string, minSeries?: number, timeoutMs?: number): Promise<ExportedSeries[]>;
  stop(): Promise<void>;
  start(): Promise<void>;
  dispose(): Promise<void>;
}

export async function startVictoriaMetrics(): Promise<VictoriaHandle> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const process_ = new ManagedProcess({
    name: "victoria-metrics",
    command: VICTORIA_BIN,
    args: (dir) => [`-storageDataPath=${dir}/data`, `-httpListenAddr=127.0.0.1:${port}`, "-search.latencyOffset=0s", "-loggerLevel=WARN"],
    ready: () => httpOk(`${url}/health`, [200]),
  });
  await process_.start();
  return {
    url,
    port,
    dir: process_.dir,
    process: process_,
    exportSeries: async (match, minSeries = 1, timeoutMs = 10_000) => {
      // VictoriaMetrics makes fresh rows searchable after a flush (about a second): poll.
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        await fetch(`${url}/internal/force_flush`).catch(() => undefined);
        const response = await fetch(`${url}/api/v1/export?${new URLSearchParams({ "match[]": match })}`);
        if (!response.ok) throw new Error(`export failed (${response.status}): ${await response.text()}`);
        const series = (await response.text())
          .split("\n")
          .filter((line) => line.trim() !== "")
          .map((line) => JSON.parse(line) as ExportedSeries);
        if (series.length >= minSeries || Date.now() > deadline) return series;
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    stop: () => process_.stop(),
    start: () => process_.start(),
    dispose: () => process_.dispose(),
  };
}
