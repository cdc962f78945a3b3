// The backlog phase of `npm run bench:gateway`, in its own process: fills the buffer file with N
// records (as the gateway would during an outage), starts the gateway on it with the local sink
// reachable, and times the drain. Prints one JSON line: the process's peak RSS (kernel maxRSS),
// the fill and drain rates. Usage: gateway-backlog.ts <brokerUrl> <sinkUrl> <records> <bufferPath>
import pino from "pino";
import { Gateway } from "../gateway/gateway.js";
import { validateConfig } from "../gateway/config/load-config.js";
import { SqliteBuffer } from "../gateway/buffer/sqlite-buffer.js";
import { cborEncoder } from "../protocol/schema/validate.js";
import { sampleTelemetry } from "../protocol/examples.js";

const [url, sinkUrl, countText, path] = process.argv.slice(2) as [string, string, string, string];
const count = Number(countText);
const DEVICES = 100;

const buffer = new SqliteBuffer({ path, maxBytes: 4 * 1024 * 1024 * 1024, maxAgeS: 86_400, synchronous: "FULL" });
const fillStarted = performance.now();
for (let i = 0; i < count; i += 5000) {
  const records = [];
  for (let j = i; j < Math.min(count, i + 5000); j++) {
    const device = `dev-${j % DEVICES}`;
    const s = Math.floor(j / DEVICES);
    records.push({ kind: "tele" as const, device, body: cborEncoder.encode({ ...sampleTelemetry, d: device, b: 99, s }) as Uint8Array, dedupe: { device, boot: 99, seq: s } });
  }
  buffer.append(records);
}
const fillPerS = count / ((performance.now() - fillStarted) / 1000);
const rssAfterFillMb = Math.round(process.memoryUsage().rss / 1024 / 1024);
const buffered = buffer.stats().records;
buffer.close();

const config = validateConfig(
  {
    gatewayId: "gw-bench",
    site: "site-b",
    logLevel: "error",
    mqtt: { url, clientId: "vw-gw-bench-backlog" },
    buffer: { path, synchronous: "FULL", maxBytes: 4 * 1024 * 1024 * 1024 },
    sink: { url: sinkUrl, batchMaxRecords: 5000, batchMaxBytes: 4 * 1024 * 1024, maxInFlight: 2, gzipMinBytes: 1024 * 1024 * 1024 },
    http: { port: 0 },
  },
  "bench",
);
let drainPeakRss = 0;
const sampler = setInterval(() => (drainPeakRss = Math.max(drainPeakRss, process.memoryUsage().rss)), 50);
const started = performance.now();
const gateway = await Gateway.start(config, { log: pino({ level: "error" }), processMetrics: false });
while (gateway.buffer.stats().records > 0) await new Promise((r) => setTimeout(r, 20));
const drainPerS = buffered / ((performance.now() - started) / 1000);
await gateway.stop();
clearInterval(sampler);
console.log(
  JSON.stringify({
    buffered,
    fillPerS,
    drainPerS,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    rssAfterFillMb,
    drainPeakRssMb: Math.round(drainPeakRss / 1024 / 1024),
  }),
);
