// A real Prometheus (Debian's 2.42) runs the shipped scrape config and rules (manifests/prometheus/)
// against a running gateway and ingest service (issue 19): it scrapes both, VibewatchIngestDown
// fires when the ingest is stopped (the cloud unreachable for the gateway too) and resolves when it
// is back. Only what a test cannot wait for is changed, each substitution required to find its
// target: the targets' addresses, the 30 s intervals (1 s), and that alert's `for: 5m` (3 s).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import pino from "pino";
import { build } from "../../cloud/app.js";
import { EmbeddedStore } from "../../cloud/storage/embedded-store.js";
import { Gateway } from "../../gateway/gateway.js";
import { makeTokens, testConfig as ingestConfig, GW, SITE, type Tokens } from "../cloud/helpers/ingest-fixture.js";
import { freePort, httpOk, ManagedProcess, startMosquitto, type MosquittoHandle } from "../helpers/services.js";
import { BROKER_TUNING, testConfig } from "../gateway/helpers/gateway-fixture.js";
import { repoRoot } from "../helpers/run-cli.js";

const PROMETHEUS_BIN = process.env.VW_PROMETHEUS ?? "/usr/bin/prometheus";
const shipped = (file: string) => readFileSync(join(repoRoot, "manifests/prometheus", file), "utf8");

function substitute(text: string, substitutions: [string, string][], file: string): string {
  let out = text;
  for (const [from, to] of substitutions) {
    if (!out.includes(from)) throw new Error(`manifests/prometheus/${file} no longer contains ${JSON.stringify(from)}: update this test`);
    out = out.replace(from, to);
  }
  return out;
}

interface PromAlert { labels: Record<string, string>; state: string }

describe("a real Prometheus with the shipped rules", () => {
  let broker: MosquittoHandle;
  let tokens: Tokens;
  let store: EmbeddedStore;
  let ingest: FastifyInstance | undefined;
  let ingestPort: number;
  let gateway: Gateway | undefined;
  let prometheus: ManagedProcess | undefined;
  let promUrl: string;
  const dir = mkdtempSync(join(tmpdir(), "vw-prometheus-"));

  const startIngest = async () => {
    ingest = await build({ config: ingestConfig(tokens), writer: store });
    await ingest.listen({ port: ingestPort, host: "127.0.0.1" });
  };

  beforeAll(async () => {
    broker = await startMosquitto({ extraConfig: BROKER_TUNING });
    tokens = await makeTokens();
    store = new EmbeddedStore({ path: ":memory:" });
    ingestPort = await freePort();
    await startIngest();
    const config = testConfig({ mqttUrl: broker.url, sinkUrl: `http://127.0.0.1:${ingestPort}/v1/batches`, overrides: { gatewayId: GW, site: SITE, mqtt: { sites: [SITE] } } });
    gateway = await Gateway.start(config, { token: tokens.token, log: pino({ level: "silent" }), processMetrics: false });
    const gatewayPort = gateway.httpPort;

    writeFileSync(join(dir, "vibewatch-gateway.rules.yml"), shipped("vibewatch-gateway.rules.yml"));
    writeFileSync(join(dir, "vibewatch-ingest.rules.yml"), substitute(shipped("vibewatch-ingest.rules.yml"), [
      ['expr: up{job="vibewatch-ingest"} == 0\n        for: 5m', 'expr: up{job="vibewatch-ingest"} == 0\n        for: 3s'],
    ], "vibewatch-ingest.rules.yml"));
    writeFileSync(join(dir, "prometheus.yml"), substitute(shipped("prometheus.yml"), [
      ["scrape_interval: 30s", "scrape_interval: 1s"],
      ["evaluation_interval: 30s", "evaluation_interval: 1s"],
      ['targets: ["127.0.0.1:9464"]', `targets: ["127.0.0.1:${gatewayPort}"]`],
      ['targets: ["127.0.0.1:8480"]', `targets: ["127.0.0.1:${ingestPort}"]`],
    ], "prometheus.yml"));
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prometheus = new ManagedProcess({
      name: "prometheus",
      command: PROMETHEUS_BIN,
      args: (work) => [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(work, "data")}`, `--web.listen-address=127.0.0.1:${port}`],
      ready: () => httpOk(`${promUrl}/-/ready`),
    });
    await prometheus.start();
  }, 60_000);

  afterAll(async () => {
    await prometheus?.dispose();
    await gateway?.stop();
    await ingest?.close();
    await store?.close();
    await broker?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const query = async (expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> => {
    const response = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    return ((await response.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } }).data.result;
  };
  const alerts = async (): Promise<PromAlert[]> => {
    const response = await fetch(`${promUrl}/api/v1/alerts`);
    return ((await response.json()) as { data: { alerts: PromAlert[] } }).data.alerts;
  };
  const until = async <T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await check();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };

  it("scrapes both services with the rules loaded, fires VibewatchIngestDown while the ingest is stopped, and resolves it when it is back", async () => {
    // both targets up, and the rule groups loaded
    await until("both targets up", async () => {
      const up = await query("up");
      return up.length === 2 && up.every((s) => s.value[1] === "1") ? up : undefined;
    });
    const rules = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as { data: { groups: { rules: { name: string }[] }[] } };
    const names = rules.data.groups.flatMap((g) => g.rules.map((r) => r.name));
    expect(names).toContain("VibewatchIngestDown");
    expect(names).toContain("VibewatchGatewayNotForwarding");
    // a healthy pair: nothing fires
    expect((await alerts()).filter((a) => a.state === "firing")).toEqual([]);
    // the labelled counters exist at 0, so a rule's increase() is 0, not empty
    // (increase() needs two samples: wait for the second scrape)
    const zero = await until("increase() over the labelled counter", async () => {
      const series = await query("increase(vw_ingest_records_rejected_total[1m])");
      return series.length > 0 ? series : undefined;
    });
    expect(zero.every((s) => Number(s.value[1]) === 0)).toBe(true);

    await ingest!.close();
    ingest = undefined;
    const fired = await until("VibewatchIngestDown firing", async () => (await alerts()).find((a) => a.labels.alertname === "VibewatchIngestDown" && a.state === "firing"));
    expect(fired.labels).toMatchObject({ job: "vibewatch-ingest", severity: "warning" });

    await startIngest();
    await until("VibewatchIngestDown resolved", async () => ((await alerts()).some((a) => a.labels.alertname === "VibewatchIngestDown") ? undefined : true));
    expect((await query('up{job="vibewatch-ingest"}'))[0]!.value[1]).toBe("1");
  }, 90_000);
});
