// Guards against /metrics that Prometheus tooling refuses, and against rules that watch nothing
// (issue 19): `promtool check metrics` exiting non-zero on either service, a metric or label value
// a rule names that the service does not export, labelled counters that do not exist until their
// first increment (so `increase(...)` is empty instead of 0 and the alert cannot fire), and no
// per-gateway time of the last batch at the ingest service. Both services run as in production
// (process metrics on): the ingest through cloud/app.ts build(), the gateway through
// Gateway.start against a private Mosquitto, posting to that ingest.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import pino from "pino";
import type { FastifyInstance } from "fastify";
import { build } from "../../cloud/app.js";
import { IngestErrors } from "../../cloud/errors.js";
import { EmbeddedStore } from "../../cloud/storage/embedded-store.js";
import { STORAGE_REJECTED_CODE } from "../../cloud/storage/writer.js";
import { Gateway } from "../../gateway/gateway.js";
import { ContractErrorCode } from "../../protocol/errors.js";
import { RECORD_KINDS } from "../../protocol/batch.js";
import { startMosquitto, type MosquittoHandle } from "../helpers/services.js";
import { GW, makeBatch, makeTokens, OTHER_GW, postBatch, teleRecord, testConfig as ingestConfig, type Tokens } from "../cloud/helpers/ingest-fixture.js";
import { testConfig as gatewayConfig } from "../gateway/helpers/gateway-fixture.js";
import { readText, readYaml, repoRoot } from "./helpers/manifests.js";

const promDir = join(repoRoot, "manifests/prometheus");
const RULE_FILES = ["vibewatch-gateway.rules.yml", "vibewatch-ingest.rules.yml"];
const LAST_BATCH = "vw_ingest_gateway_last_batch_timestamp_seconds";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Exposition {
  text: string;
  types: Map<string, string>;
  samples: Sample[];
}

/** The Prometheus text format, as far as these tests read it (prom-client's output). */
function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1] as string, type[2] as string);
    if (line === "" || line.startsWith("#")) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) throw new Error(`unreadable sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const match of (sample[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[match[1] as string] = match[2] as string;
    samples.push({ name: sample[1] as string, labels, value: Number(sample[3]) });
  }
  return { text, types, samples };
}

const seriesOf = (exposition: Exposition, name: string) => exposition.samples.filter((sample) => sample.name === name);
const labelValues = (exposition: Exposition, name: string, label: string) => new Set(seriesOf(exposition, name).map((sample) => sample.labels[label]));

function promtoolCheckMetrics(text: string): { status: number | null; output: string } {
  const result = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  if (result.error) throw new Error(`promtool: ${result.error.message} (scripts/setup installs Debian's prometheus package)`);
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const exprs = (): string[] => RULE_FILES.flatMap((file) => (readYaml(join(promDir, file)) as { groups: Array<{ rules: Array<{ expr: string }> }> }).groups.flatMap((group) => group.rules.map((rule) => rule.expr)));
const metricNamesInRules = (): string[] => [...new Set(exprs().flatMap((expr) => [...expr.matchAll(/\bvw_[a-z0-9_]+/g)].map((match) => match[0])))];

/** Label values the rules match on, per metric: `name{label="a|b"}`, `=~` and `!~` alike (the regex alternatives). */
function matchedLabelValues(): Array<{ metric: string; label: string; value: string }> {
  const found: Array<{ metric: string; label: string; value: string }> = [];
  for (const expr of exprs()) {
    for (const selector of expr.matchAll(/\b(vw_[a-z0-9_]+)\{([^}]*)\}/g)) {
      for (const matcher of (selector[2] as string).matchAll(/([a-z_]+)\s*(?:=~|!~|=|!=)\s*"([^"]*)"/g)) {
        for (const value of (matcher[2] as string).split("|")) found.push({ metric: selector[1] as string, label: matcher[1] as string, value });
      }
    }
  }
  return found;
}

let broker: MosquittoHandle;
let tokens: Tokens;
let store: EmbeddedStore;
let ingest: FastifyInstance;
let gateway: Gateway | undefined;
let dir: string;
/** both services' /metrics right after start, before any message or batch */
let fresh: { gateway: Exposition; ingest: Exposition };

const gatewayMetrics = async () => parseExposition(await (await fetch(`http://127.0.0.1:${gateway!.httpPort}/metrics`)).text());
const ingestMetrics = async () => parseExposition((await ingest.inject({ url: "/metrics" })).body);
const exported = async () => ({ gateway: await gatewayMetrics(), ingest: await ingestMetrics() });
const ofService = (both: { gateway: Exposition; ingest: Exposition }, metric: string) => (metric.startsWith("vw_gateway_") ? both.gateway : both.ingest);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "vw-prom-metrics-"));
  broker = await startMosquitto();
  tokens = await makeTokens();
  store = new EmbeddedStore({ path: ":memory:" });
  // as `vibewatch ingest` builds it: with the process metrics
  ingest = await build({ config: ingestConfig(tokens), writer: store, defaultMetrics: true });
  await ingest.listen({ port: 0, host: "127.0.0.1" });
  const ingestPort = (ingest.server.address() as AddressInfo).port;
  const config = gatewayConfig({ mqttUrl: broker.url, sinkUrl: `http://127.0.0.1:${ingestPort}/v1/batches`, dir, overrides: { gatewayId: GW } });
  // as `vibewatch gateway` starts it: process metrics on (the default)
  gateway = await Gateway.start(config, { token: tokens.token, log: pino({ level: "silent" }) });
  fresh = await exported();
});

afterAll(async () => {
  await gateway?.stop();
  await ingest?.close();
  await store?.close();
  await broker?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("/metrics of both services", () => {
  it("passes promtool check metrics on the gateway", () => {
    const result = promtoolCheckMetrics(fresh.gateway.text);
    expect(result.status, result.output).toBe(0);
  });

  it("passes promtool check metrics on the ingest service", () => {
    const result = promtoolCheckMetrics(fresh.ingest.text);
    expect(result.status, result.output).toBe(0);
  });

  it("keeps the process metrics operators use (CPU, memory, event loop, heap, handles, GC)", () => {
    for (const [prefix, exposition] of [["vw_gateway_", fresh.gateway], ["vw_ingest_", fresh.ingest]] as const) {
      for (const name of ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_start_time_seconds", "process_open_fds", "nodejs_eventloop_lag_p99_seconds", "nodejs_heap_size_used_bytes", "nodejs_active_handles", "nodejs_gc_duration_seconds"]) {
        expect(exposition.types.has(prefix + name), `${prefix}${name}`).toBe(true);
      }
    }
  });

  it("exports every metric the alerting rules use", async () => {
    // the last-batch gauge has a series once a gateway's batch was answered 200
    expect((await postBatch(ingest, makeBatch([teleRecord("pump-drift", 1)]), { token: tokens.token })).statusCode).toBe(200);
    const now = await exported();
    const names = metricNamesInRules();
    expect(names.length).toBeGreaterThanOrEqual(12);
    for (const name of names) expect(ofService(now, name).types.has(name), `${name} is exported`).toBe(true);
  });

  it("shows 0-valued series for every counter the rules use, and every label value they match, before any event", () => {
    for (const name of metricNamesInRules()) {
      const exposition = ofService(fresh, name);
      if (exposition.types.get(name) !== "counter") continue;
      const series = seriesOf(exposition, name);
      expect(series.length, `${name} has series before its first increment`).toBeGreaterThan(0);
      expect(series.filter((sample) => sample.value !== 0), `${name} is 0 before any event`).toEqual([]);
    }
    for (const { metric, label, value } of matchedLabelValues()) {
      expect([...labelValues(ofService(fresh, metric), metric, label)], `${metric}{${label}="${value}"} exists`).toContain(value);
    }
  });

  it("initialises the labelled counters for every contract code, record kind, refusal code and status", () => {
    const contractCodes = Object.values(ContractErrorCode);
    const { gateway: gw, ingest: cloud } = fresh;
    expect([...labelValues(gw, "vw_gateway_messages_rejected_total", "reason")]).toEqual(expect.arrayContaining(contractCodes));
    expect([...labelValues(gw, "vw_gateway_records_cloud_rejected_total", "reason")]).toEqual(expect.arrayContaining([...contractCodes, STORAGE_REJECTED_CODE]));
    expect([...labelValues(gw, "vw_gateway_records_stored_total", "kind")]).toEqual(expect.arrayContaining(["tele", "alert", "status", "event"]));
    expect([...labelValues(gw, "vw_gateway_records_forwarded_total", "kind")].sort()).toEqual([...RECORD_KINDS].sort());
    expect([...labelValues(cloud, "vw_ingest_records_stored_total", "kind")].sort()).toEqual([...RECORD_KINDS].sort());
    expect([...labelValues(cloud, "vw_ingest_records_rejected_total", "reason")]).toEqual(expect.arrayContaining([...contractCodes, STORAGE_REJECTED_CODE]));
    const refusals = Object.values(IngestErrors).filter((entry) => entry !== IngestErrors.StorageUnavailable && entry !== IngestErrors.NotFound);
    expect([...labelValues(cloud, "vw_ingest_requests_refused_total", "code")]).toEqual(expect.arrayContaining(refusals.map((entry) => entry.code)));
    const statuses = new Set(["200", ...refusals.map((entry) => String(entry.statusCode)), String(IngestErrors.StorageUnavailable.statusCode)]);
    expect([...labelValues(cloud, "vw_ingest_batches_total", "status")]).toEqual(expect.arrayContaining([...statuses]));
  });
});

describe("last batch per gateway at the ingest service", () => {
  it("is the time of the gateway's last batch answered 200, and is not set by a refused one", async () => {
    const before = Date.now() / 1000;
    expect((await postBatch(ingest, makeBatch([teleRecord("pump-last", 1)]), { token: tokens.token })).statusCode).toBe(200);
    const after = Date.now() / 1000;
    const stamped = seriesOf(await ingestMetrics(), LAST_BATCH).filter((sample) => sample.labels.gateway === GW);
    expect(stamped).toHaveLength(1);
    expect(stamped[0]!.value).toBeGreaterThanOrEqual(Math.floor(before));
    expect(stamped[0]!.value).toBeLessThanOrEqual(Math.ceil(after));

    // the other gateway's token on this gateway's batch: 403, neither gateway's time moves
    expect((await postBatch(ingest, makeBatch([teleRecord("pump-last", 2)]), { token: tokens.otherToken })).statusCode).toBe(403);
    const series = seriesOf(await ingestMetrics(), LAST_BATCH);
    expect(series.filter((sample) => sample.labels.gateway === OTHER_GW)).toEqual([]);
    expect(series.filter((sample) => sample.labels.gateway === GW).map((sample) => sample.value)).toEqual([stamped[0]!.value]);
  });
});

describe("manifests/prometheus/README.md", () => {
  it("names every metric the rules use", () => {
    const readme = readText(join(promDir, "README.md"));
    for (const name of metricNamesInRules()) expect(readme, `README.md names ${name}`).toContain(name);
  });
});
