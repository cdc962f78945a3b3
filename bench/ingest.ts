// npm run bench:ingest — points/s stored through the ingest service (CBOR batches over HTTP from
// several concurrent clients, acknowledged only after InfluxDB took them) against, in the same
// run and on the same InfluxDB, points/s of writing the same line protocol straight to /write
// with the same batch size and concurrency (the service's own InfluxDB call, without the service).
// Each round runs both paths (in ABBA order); medians are reported. Prints one JSON line last.
// Run with node --max-semi-space-size=64 (package.json), as the image runs the service: see
// cloud/README.md, "Memory and the garbage collector".
import type { AddressInfo } from "node:net";
import { PerformanceObserver } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { startInfluxDb } from "../test/helpers/services.js";
import { youngGenerationFlags } from "./helpers/young-generation-flags.js";
import { build } from "../cloud/app.js";
import { parseConfig } from "../cloud/config/load.js";
import { generateToken, hashToken } from "../cloud/auth/token-hash.js";
import { InfluxV1Writer } from "../cloud/storage/influx-v1-writer.js";
import { formatLines } from "../cloud/storage/line-protocol.js";
import { cborEncoder } from "../protocol/schema/validate.js";
import { sampleTelemetry } from "../protocol/examples.js";
import type { Batch } from "../protocol/batch.js";
import { HttpPoster } from "../gateway/sinks/http-post.js";

const CLIENTS = Number(process.env.VW_BENCH_CLIENTS ?? 4);
// 5,000 records: the contract's largest batch and InfluxDB's advised write size
const BATCH_RECORDS = Number(process.env.VW_BENCH_BATCH ?? 5000);
// 4 x 4 x 5,000 = 80,000 points per phase: a phase of 1-2 s, long enough that the start and
// the end of a phase (the first batches still in the service, the last one in InfluxDB) matter little
const BATCHES_PER_CLIENT = Number(process.env.VW_BENCH_BATCHES ?? 4);
const ROUNDS = Number(process.env.VW_BENCH_ROUNDS ?? 9);
// the writer's gzip threshold, for the service and the baseline alike (the service's default)
const GZIP_THRESHOLD_BYTES = Number(process.env.VW_BENCH_GZIP_BYTES ?? 64 * 1024);
const SITE = "bench-site";
const GW = "gw-bench";
const DATABASE = "vw_bench";

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

let nextId = 1;
let nextTs = (Math.floor(Date.now() / 1000) - 7200) * 1_000_000;
/** batches[client][i]: fresh records (new ids and timestamps) for one round */
function makeBatches(label: string): Batch[][] {
  return Array.from({ length: CLIENTS }, (_, client) =>
    Array.from({ length: BATCHES_PER_CLIENT }, (_, b) => ({
      v: 1,
      gw: GW,
      site: SITE,
      id: `${label}-${client}-${b}`,
      recs: Array.from({ length: BATCH_RECORDS }, (_, r) => {
        const device = `${label}-${client}-${r % 50}`.slice(0, 24);
        const seq = b * BATCH_RECORDS + r;
        return { id: nextId++, ts: (nextTs += 7), k: "tele" as const, d: device, p: { ...sampleTelemetry, d: device, s: seq, u: [200 + (seq % 100), 150, 40] as [number, number, number] } };
      }),
    })),
  );
}

// a full collection on demand, without a node flag on the command line (v8 flag + a fresh context)
setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

// garbage-collection time inside each timed phase (stderr only: it explains a slow phase)
let gcMs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMs += entry.duration;
}).observe({ entryTypes: ["gc"] });

// CPU of this process (service + clients + zlib threads) per phase: on a shared machine it varies
// far less than wall time, so it shows what the service itself costs per point
let lastCpuMs = 0;
async function timed(clients: (() => Promise<void>)[]): Promise<number> {
  // collect the setup's garbage (the bench's own batch objects) before the clock starts, so a
  // phase pays only for its own collections, not for the objects the bench built for it
  collectGarbage();
  gcMs = 0;
  const cpuStart = process.cpuUsage();
  const started = performance.now();
  await Promise.all(clients.map((client) => client()));
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  lastCpuMs = (cpu.user + cpu.system) / 1000;
  console.error(`  phase ${seconds.toFixed(2)} s, of which GC ${(gcMs / 1000).toFixed(2)} s; process CPU ${(lastCpuMs / 1000).toFixed(2)} s`);
  return seconds;
}

const nodeFlags = youngGenerationFlags("bench:ingest");

async function main(): Promise<void> {
  const influx = await startInfluxDb();
  try {
    await influx.createDatabase(DATABASE);
    const writerOptions = { url: influx.url, database: DATABASE, timeoutMs: 30_000, gzipThresholdBytes: GZIP_THRESHOLD_BYTES, maxLinesPerWrite: 5000 };
    const token = generateToken(GW);
    const config = parseConfig({
      gateways: [{ id: GW, tokenHash: await hashToken(token, "sha256") }],
      storage: { type: "influx-v1", ...writerOptions },
      bodyLimitBytes: 16 * 1024 * 1024,
      rateLimit: { maxBatches: 1_000_000 },
      writes: { maxConcurrent: CLIENTS * 2, maxQueued: CLIENTS * 4 },
      // the bench drives the service flat out on a shared 2-core machine: under-pressure would
      // (rightly) answer 503 and end the run, so its event-loop check is off here
      pressure: { maxEventLoopDelayMs: 0 },
      log: { level: "warn" },
    });
    const app = await build({ config });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/batches`;
    const direct = new InfluxV1Writer(writerOptions);
    // the clients post as a gateway does (its HTTP client, CBOR replies), without the gateway's
    // gzip: on loopback it would only add the clients' compression to the service's CPU
    const poster = new HttpPoster({ url, token, timeoutMs: 60_000, gzipMinBytes: Number.MAX_SAFE_INTEGER, maxInFlight: CLIENTS });
    const pointsPerRound = CLIENTS * BATCHES_PER_CLIENT * BATCH_RECORDS;

    const serviceRates: number[] = [];
    const directRates: number[] = [];
    const serviceCpuUs: number[] = [];
    const directCpuUs: number[] = [];
    let acknowledged = 0;
    // warm-up, not timed: both paths once (JIT, connection pools, InfluxDB's first shard)
    const [warmService] = makeBatches("warm-svc");
    const [warmDirect] = makeBatches("warm-raw");
    await direct.sendBody(formatLines(warmDirect![0]!.recs.map((record) => ({ record, site: SITE, gateway: GW }))).bytes);
    const warm = await poster.post(Buffer.from(cborEncoder.encode(warmService![0]!)));
    if (warm.kind !== "reply") throw new Error(`service answered ${JSON.stringify(warm)} to the warm-up`);
    // then one whole untimed round of each (round -1): a single warm-up batch left the first timed
    // service round consistently the slowest (optimizing compiler, heap growth), which measured
    // start-up rather than throughput
    for (let round = -1; round < ROUNDS; round += 1) {
      const measured = round >= 0;
      // baseline: the same lines, the same batch size and concurrency, straight to /write
      const rawBatches = makeBatches(`raw${round}`).map((batches) => batches.map((batch) => formatLines(batch.recs.map((record) => ({ record, site: SITE, gateway: GW }))).bytes));
      const bodies = makeBatches(`svc${round}`).map((batches) => batches.map((batch) => Buffer.from(cborEncoder.encode(batch))));
      const runDirect = () => timed(rawBatches.map((batches) => async () => {
        for (const lines of batches) await direct.sendBody(lines);
      }));
      const runService = () => timed(bodies.map((batches) => async () => {
        for (const body of batches) {
          const outcome = await poster.post(body);
          if (outcome.kind !== "reply") throw new Error(`service answered ${JSON.stringify(outcome)}`);
          if (measured) acknowledged += outcome.reply.stored.length;
        }
      }));
      // ABBA order: InfluxDB's background work (WAL flushes, compactions) left by one phase lands
      // in the next one; alternating which path goes first spreads it over both
      let directS: number;
      let serviceS: number;
      let directCpu: number;
      let serviceCpu: number;
      if (round % 2 === 0) {
        directS = await runDirect();
        directCpu = lastCpuMs;
        serviceS = await runService();
        serviceCpu = lastCpuMs;
      } else {
        serviceS = await runService();
        serviceCpu = lastCpuMs;
        directS = await runDirect();
        directCpu = lastCpuMs;
      }
      if (measured) {
        directRates.push(pointsPerRound / directS);
        directCpuUs.push((directCpu * 1000) / pointsPerRound);
      }
      if (!measured) {
        console.error(`warm-up round: direct ${Math.round(pointsPerRound / directS)} points/s, service ${Math.round(pointsPerRound / serviceS)} points/s`);
        continue;
      }
      serviceRates.push(pointsPerRound / serviceS);
      serviceCpuUs.push((serviceCpu * 1000) / pointsPerRound);
      console.error(`round ${round + 1}/${ROUNDS}: direct ${Math.round(directRates.at(-1)!)} points/s, service ${Math.round(serviceRates.at(-1)!)} points/s`);
    }
    poster.close();
    await app.close();

    const counted = await influx.query(`SELECT count("seq") FROM "vw_tele" WHERE "device" =~ /^svc[0-9]/`, DATABASE);
    const stored = Number(counted[0]?.values[0]?.[1] ?? 0);
    const service = median(serviceRates);
    const baseline = median(directRates);
    console.log(JSON.stringify({
      bench: "ingest",
      measured: "points/s stored through the ingest service (CBOR batches over HTTP, 200 only after InfluxDB accepted)",
      value: Math.round(service),
      baseline: "points/s writing the same line protocol straight to InfluxDB /write, same batch size and concurrency",
      baseline_value: Math.round(baseline),
      ratio: Number((service / baseline).toFixed(3)),
      // the machine is shared: each round's own ratio, and their median, show the spread
      round_ratios: serviceRates.map((rate, i) => Number((rate / directRates[i]!).toFixed(3))),
      median_round_ratio: Number(median(serviceRates.map((rate, i) => rate / directRates[i]!)).toFixed(3)),
      goal_ratio: 0.8,
      // CPU µs of the bench process per point (median): the service path (HTTP server, CBOR,
      // validation, formatting, HTTP clients) against the direct path (formatting done before)
      service_process_cpu_us_per_point: Number(median(serviceCpuUs).toFixed(2)),
      direct_process_cpu_us_per_point: Number(median(directCpuUs).toFixed(2)),
      clients: CLIENTS,
      batch_records: BATCH_RECORDS,
      points_per_round: pointsPerRound,
      rounds: ROUNDS,
      gzip_threshold_bytes: GZIP_THRESHOLD_BYTES,
      // the service's V8 flags (the image's entrypoint sets the same)
      node_flags: nodeFlags,
      service_rounds: serviceRates.map(Math.round),
      baseline_rounds: directRates.map(Math.round),
      acknowledged,
      stored_in_influxdb: stored,
      influxdb: "1.6.7",
    }));
  } finally {
    await influx.dispose();
  }
}

await main();
