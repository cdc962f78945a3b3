// `npm run bench:gateway`: messages/s through the gateway (QoS 1 in, durable in SQLite with
// synchronous=FULL, forwarded to a local HTTP sink) against a bare MQTT.js QoS 1 subscriber that
// does nothing, from the same broker in the same run; then peak RSS with 1,000,000 records
// buffered and the backlog drain rate, twice: under tsx, and compiled as deployed (with the
// gateway's node flags). Prints one JSON line last.
//
// Method: each consumer's persistent session is preloaded with N messages while it is offline,
// then it connects and is timed until it has them all (the gateway: all forwarded) and the broker
// has processed all of its PUBACKs, so the publisher never competes for the CPU. The second
// condition is what makes the two comparable: Mosquitto sends a backlog first and reads the
// acks later, so a clock stopped at the bare subscriber's last message left a third of the
// broker's work per message (reading and handling the PUBACKs) outside its run, while the
// gateway's run, longer by its forwarding, paid for it. Both figures are printed. The broker
// allows BROKER_INFLIGHT messages in flight per client (Mosquitto's default of 20 caps any
// subscriber whose acks wait for a commit).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import { build as esbuild } from "esbuild";
import mqtt, { type MqttClient } from "mqtt";
import pino from "pino";
import { ManagedProcess, tcpAccepts } from "../test/helpers/managed-process.js";
import { freePort } from "../test/helpers/free-port.js";
import { MOSQUITTO_BIN } from "../test/helpers/mosquitto.js";
import { Gateway } from "../gateway/gateway.js";
import { validateConfig } from "../gateway/config/load-config.js";
import { cborEncoder } from "../protocol/schema/validate.js";
import { sampleTelemetry } from "../protocol/examples.js";
import { youngGenerationFlags } from "./helpers/young-generation-flags.js";

const MESSAGES = Number(process.env.VW_BENCH_MESSAGES ?? 50_000);
const RUNS = Number(process.env.VW_BENCH_RUNS ?? 9);
const BACKLOG = Number(process.env.VW_BENCH_BACKLOG ?? 1_000_000);
const DEVICES = 100;
const BROKER_INFLIGHT = 5000;
const SINK_BATCH_MAX_AGE_MS = 20;
// the gateway runs in this process, so the node flags of `npm run bench:gateway` are the
// gateway's (its systemd unit starts it with the same young generation size)
const nodeFlags = youngGenerationFlags("bench:gateway");

const dir = mkdtempSync(join(tmpdir(), "vw-bench-gateway-"));
const log = (line: string) => process.stderr.write(`${line}\n`);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

async function startBroker(): Promise<{ url: string; process: ManagedProcess }> {
  const port = await freePort();
  const broker = new ManagedProcess({ name: "mosquitto", command: MOSQUITTO_BIN, args: (d) => ["-c", join(d, "mosquitto.conf")], ready: () => tcpAccepts(port) });
  writeFileSync(
    join(broker.dir, "mosquitto.conf"),
    [`listener ${port} 127.0.0.1`, "allow_anonymous true", `max_inflight_messages ${BROKER_INFLIGHT}`, "max_queued_messages 5000000", "max_queued_bytes 0", "persistence false", process.getuid?.() === 0 ? "user root" : ""].join("\n") + "\n",
  );
  await broker.start();
  return { url: `mqtt://127.0.0.1:${port}`, process: broker };
}

async function startLocalSink(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ["--import", "tsx", "bench/gateway-local-sink.ts"], { stdio: ["ignore", "pipe", "inherit"] });
  const [chunk] = (await once(child.stdout!, "data")) as [Buffer];
  return { url: chunk.toString().trim(), child };
}

// Each consumer has a site of its own, so its offline session queues only its own preload: with a
// shared topic, each preload also landed in the other consumer's session, and the gateway (which
// takes everything the broker sends) ingested twice the messages it was timed for.
const BARE_SITE = "site-bare";
const GATEWAY_SITE = "site-gw";

/** Creates a persistent session subscribed to one site's telemetry, then leaves it offline. */
async function createSession(url: string, clientId: string, site: string): Promise<void> {
  const client = await mqtt.connectAsync(url, { clientId, clean: false });
  await client.subscribeAsync(`vw/v1/${site}/+/tele`, { qos: 1 });
  await client.endAsync();
}

let boot = 1;
async function preload(url: string, count: number, site: string): Promise<void> {
  const client = await mqtt.connectAsync(url, { clientId: `bench-pub-${boot}`, clean: true });
  const b = boot++;
  const window: Array<Promise<unknown>> = [];
  for (let i = 0; i < count; i++) {
    const device = `dev-${i % DEVICES}`;
    const payload = cborEncoder.encode({ ...sampleTelemetry, d: device, b, s: Math.floor(i / DEVICES) }) as Buffer;
    window.push(client.publishAsync(`vw/v1/${site}/${device}/tele`, payload, { qos: 1 }));
    if (window.length >= 2000) await Promise.all(window.splice(0));
  }
  await Promise.all(window);
  await client.endAsync();
}

/**
 * Resolves once the broker has read and handled everything this client sent before, its PUBACKs
 * included: the broker answers a QoS 1 publish only after reading the connection up to it.
 */
async function brokerCaughtUp(client: MqttClient): Promise<void> {
  await client.publishAsync("vw-bench/caught-up", "", { qos: 1 });
}

async function bareRun(url: string): Promise<{ perS: number; lastMessagePerS: number; cpuUsPerMsg: number }> {
  await preload(url, MESSAGES, BARE_SITE);
  let received = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  // MQTT.js's debug tracing off, as in the gateway: the baseline pays for nothing the gateway skips
  const client = mqtt.connect(url, { clientId: "bench-bare", clean: false, log: () => {} });
  await new Promise<void>((resolve) => {
    client.on("message", () => {
      if (++received === MESSAGES) resolve();
    });
  });
  const lastMessageS = (performance.now() - started) / 1000;
  await brokerCaughtUp(client);
  const seconds = (performance.now() - started) / 1000;
  const cpuUsPerMsg = cpuUs(process.cpuUsage(cpu)) / MESSAGES;
  await client.endAsync();
  return { perS: MESSAGES / seconds, lastMessagePerS: MESSAGES / lastMessageS, cpuUsPerMsg };
}

/** CPU time of this process (all threads), µs: less sensitive to the shared machine's load than wall time */
const cpuUs = (usage: NodeJS.CpuUsage) => usage.user + usage.system;

function gatewayConfig(url: string, sinkUrl: string, bufferPath: string) {
  return validateConfig(
    {
      gatewayId: "gw-bench",
      site: GATEWAY_SITE,
      logLevel: "error",
      mqtt: { url, clientId: "vw-gw-bench", sites: [GATEWAY_SITE] },
      buffer: { path: bufferPath, synchronous: "FULL", maxBytes: 2 * 1024 * 1024 * 1024 },
      // gzip does not pay on loopback: it would only burn the CPU the broker and the sink share
      // a run ends with one partial batch, sent when its oldest record is batchMaxAgeMs old: at
      // the default 200 ms that linger (latency, not throughput) would be a quarter of a run
      sink: { url: sinkUrl, batchMaxRecords: 2000, batchMaxBytes: 4 * 1024 * 1024, batchMaxAgeMs: SINK_BATCH_MAX_AGE_MS, maxInFlight: 4, gzipMinBytes: 1024 * 1024 * 1024 },
      limits: { ratePerS: 1_000_000, burst: 1_000_000 },
      http: { port: 0 },
    },
    "bench",
  );
}

async function gatewayRun(url: string, sinkUrl: string, run: number): Promise<{ perS: number; forwardedPerS: number; storedPerS: number; cpuUsPerMsg: number }> {
  await preload(url, MESSAGES, GATEWAY_SITE);
  const started = performance.now();
  const cpu = process.cpuUsage();
  const gateway = await Gateway.start(gatewayConfig(url, sinkUrl, join(dir, `run-${run}.db`)), { log: pino({ level: "error" }), processMetrics: false });
  let storedAt = 0;
  for (;;) {
    const stored = await gateway.metrics.value("vw_gateway_records_stored_total");
    if (!storedAt && stored >= MESSAGES) storedAt = performance.now();
    if ((await gateway.metrics.value("vw_gateway_records_forwarded_total")) >= MESSAGES) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  const forwardedS = (performance.now() - started) / 1000;
  // the gateway wrote each PUBACK right after its commit, long before this, on the same connection
  await gateway.source.publishAcked("vw-bench/caught-up", new Uint8Array(0));
  const seconds = (performance.now() - started) / 1000;
  const cpuUsPerMsg = cpuUs(process.cpuUsage(cpu)) / MESSAGES;
  const storedTotal = await gateway.metrics.value("vw_gateway_records_stored_total");
  await gateway.stop();
  // the run is timed for MESSAGES: anything else in its session would be work it is not timed for
  if (storedTotal !== MESSAGES) throw new Error(`the gateway stored ${storedTotal} records in a run of ${MESSAGES}`);
  return { perS: MESSAGES / seconds, forwardedPerS: MESSAGES / forwardedS, storedPerS: MESSAGES / ((storedAt - started) / 1000), cpuUsPerMsg };
}

interface BacklogResult {
  peakRssMb: number;
  drainPerS: number;
  fillPerS: number;
  buffered: number;
  rssAfterFillMb: number;
  drainPeakRssMb: number;
}

/** The backlog phase runs in a process of its own, so its peak RSS is the gateway's alone. */
async function backlogRun(url: string, sinkUrl: string): Promise<BacklogResult> {
  return await backlogChild(["--import", "tsx", "bench/gateway-backlog.ts"], url, sinkUrl, "backlog.db");
}

/**
 * The same phase run as the gateway is deployed: compiled JavaScript (esbuild bundles
 * bench/gateway-backlog.ts with the gateway's code; packages stay external, as in dist/), started
 * by node with the gateway's young-generation flags (its systemd unit's), without tsx. Under
 * tsx, its loader thread and on-the-fly compilation add some 35 MB of RSS at start-up that the
 * deployed gateway does not have, so backlogRun's peak is the code plus tsx.
 */
async function backlogRunCompiled(url: string, sinkUrl: string): Promise<BacklogResult> {
  const bundleDir = join(dir, "compiled");
  mkdirSync(bundleDir);
  // the bundle resolves its packages from the repository's node_modules
  symlinkSync(join(process.cwd(), "node_modules"), join(bundleDir, "node_modules"), "dir");
  const outfile = join(bundleDir, "gateway-backlog.mjs");
  await esbuild({ entryPoints: ["bench/gateway-backlog.ts"], outfile, bundle: true, platform: "node", format: "esm", packages: "external", target: "node20", logLevel: "warning" });
  return await backlogChild([...nodeFlags, outfile], url, sinkUrl, "backlog-compiled.db");
}

async function backlogChild(command: string[], url: string, sinkUrl: string, file: string): Promise<BacklogResult> {
  const child = spawn(process.execPath, [...command, url, sinkUrl, String(BACKLOG), join(dir, file)], { stdio: ["ignore", "pipe", "inherit"] });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, "exit")) as [number];
  if (code !== 0) throw new Error(`backlog phase failed (exit ${code})`);
  return JSON.parse(output.trim().split("\n").pop() as string);
}

const broker = await startBroker();
const sink = await startLocalSink();
try {
  await createSession(broker.url, "bench-bare", BARE_SITE);
  const setup = await Gateway.start(gatewayConfig(broker.url, sink.url, join(dir, "setup.db")), { log: pino({ level: "error" }), processMetrics: false });
  await setup.stop(); // the gateway's persistent session now exists and collects while it is away
  const bare: number[] = [];
  const through: number[] = [];
  const bareLastMessage: number[] = [];
  const forwarded: number[] = [];
  const stored: number[] = [];
  const bareCpu: number[] = [];
  const gatewayCpu: number[] = [];
  // one untimed run of each first: the first run measured the JIT and the first database file
  await bareRun(broker.url);
  await gatewayRun(broker.url, sink.url, -1);
  for (let run = 0; run < RUNS; run++) {
    const bareResult = await bareRun(broker.url);
    bare.push(bareResult.perS);
    bareLastMessage.push(bareResult.lastMessagePerS);
    bareCpu.push(bareResult.cpuUsPerMsg);
    const result = await gatewayRun(broker.url, sink.url, run);
    through.push(result.perS);
    forwarded.push(result.forwardedPerS);
    stored.push(result.storedPerS);
    gatewayCpu.push(result.cpuUsPerMsg);
    log(
      `run ${run + 1}/${RUNS}: bare ${Math.round(bareResult.perS)} msgs/s acked (${Math.round(bareResult.lastMessagePerS)} to its last message; ${bareResult.cpuUsPerMsg.toFixed(1)} µs CPU/msg), ` +
        `gateway ${Math.round(result.perS)} msgs/s acked (${Math.round(result.forwardedPerS)} to its last forward, ${Math.round(result.storedPerS)} durable; ${result.cpuUsPerMsg.toFixed(1)} µs CPU/msg)`,
    );
  }
  const backlog = await backlogRun(broker.url, sink.url);
  log(`backlog of ${backlog.buffered}: peak RSS ${backlog.peakRssMb} MB, drain ${Math.round(backlog.drainPerS)} records/s`);
  const compiled = await backlogRunCompiled(broker.url, sink.url);
  log(`backlog of ${compiled.buffered}, compiled as deployed (${nodeFlags.join(" ") || "no flags"}): peak RSS ${compiled.peakRssMb} MB, drain ${Math.round(compiled.drainPerS)} records/s`);
  const gatewayMedian = median(through);
  const bareMedian = median(bare);
  // each gateway run against the bare run just before it: pairs share the machine's mood
  const medianPairRatio = (gateway: number[], baseline: number[]) => Number(median(gateway.map((value, run) => value / (baseline[run] as number))).toFixed(3));
  console.log(
    JSON.stringify({
      bench: "gateway",
      measured: "QoS 1 messages/s through the gateway (durable in SQLite WAL, synchronous=FULL, forwarded to a local HTTP sink), median of runs",
      timedUntil: "the consumer has every message (the gateway: forwarded) and the broker has handled all of its PUBACKs (a QoS 1 publish on the same connection answered)",
      messagesPerRun: MESSAGES,
      runs: RUNS,
      gatewayMsgsPerS: Math.round(gatewayMedian),
      gatewayDurableMsgsPerS: Math.round(median(stored)),
      baseline: "bare MQTT.js QoS 1 subscriber doing nothing, same broker, same run",
      bareSubscriberMsgsPerS: Math.round(bareMedian),
      ratio: Number((gatewayMedian / bareMedian).toFixed(3)),
      medianPairRatio: medianPairRatio(through, bare),
      // the same runs with the clock stopped at the consumer's last message (the gateway: its last
      // forward), before the broker has handled the acks; the bare subscriber's run then leaves
      // part of the broker's work out, the gateway's (longer) run does not
      untilLastMessage: {
        gatewayForwardedMsgsPerS: Math.round(median(forwarded)),
        bareSubscriberMsgsPerS: Math.round(median(bareLastMessage)),
        ratio: Number((median(forwarded) / median(bareLastMessage)).toFixed(3)),
        medianPairRatio: medianPairRatio(forwarded, bareLastMessage),
      },
      // CPU of the consumer's process per message (all its threads; not the sink's process)
      gatewayCpuUsPerMsg: Number(median(gatewayCpu).toFixed(1)),
      bareSubscriberCpuUsPerMsg: Number(median(bareCpu).toFixed(1)),
      cpuRatio: Number((median(bareCpu) / median(gatewayCpu)).toFixed(3)),
      goal: { ratio: 0.8, msgsPerS: 20_000 },
      brokerMaxInflightMessages: BROKER_INFLIGHT,
      sinkGzip: false,
      sinkBatchMaxAgeMs: SINK_BATCH_MAX_AGE_MS,
      mqttDebugLog: "off in both (MQTT.js log option)",
      node_flags: nodeFlags,
      loadAverage1m: Number(loadavg()[0]!.toFixed(2)),
      backlogRecords: backlog.buffered,
      peakRssMbWithBacklog: backlog.peakRssMb,
      peakRssMeasured: "max RSS of a separate gateway process that filled and drained the backlog",
      rssMbAfterFill: backlog.rssAfterFillMb,
      peakRssMbWhileDraining: backlog.drainPeakRssMb,
      backlogFillRecordsPerS: Math.round(backlog.fillPerS),
      backlogDrainRecordsPerS: Math.round(backlog.drainPerS),
      // the same fill and drain, run as deployed (compiled, the gateway's node flags, no tsx)
      compiledBacklog: {
        measured: "max RSS (kernel maxRSS) of a gateway process running compiled JavaScript (esbuild bundle, packages external) with the gateway's node flags, no tsx, that filled and drained the backlog",
        nodeFlags,
        peakRssMb: compiled.peakRssMb,
        rssMbAfterFill: compiled.rssAfterFillMb,
        peakRssMbWhileDraining: compiled.drainPeakRssMb,
        fillRecordsPerS: Math.round(compiled.fillPerS),
        drainRecordsPerS: Math.round(compiled.drainPerS),
        goal: { peakRssMb: 128 },
      },
    }),
  );
} finally {
  sink.child.kill("SIGTERM");
  await broker.process.dispose();
  rmSync(dir, { recursive: true, force: true });
}
