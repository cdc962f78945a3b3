// npm run bench:e2e — the whole chain with real parts (Mosquitto, InfluxDB 1.x, the gateway as its
// own process, the ingest service, devices running the firmware in XS): messages/s, and latency
// from a device's publish to the point being queryable in InfluxDB (p50/p99), and from a device's
// alert to the gateway's local alert topic (p50/p99).
//
// Publish time is when a plain subscriber on the site broker sees the message (within a
// millisecond of the device's PUBLISH on loopback), so simulated device clocks do not bias it.
// Baseline, same run: a point written straight to InfluxDB's /write, to queryable, by the same
// poller; the ratio is pipeline p50 / baseline p50.
import mqtt from "mqtt";
import { E2eStack, SITE, GATEWAY_ID, DATABASE, sleep } from "../test/e2e/helpers/e2e-stack.js";
import { decodeCbor } from "../protocol/schema/validate.js";
import { parseDeviceTopic } from "../protocol/topics.js";
import { percentile } from "../demo/demo-monitor.js";

const DEVICES = Number(process.env.VW_BENCH_DEVICES ?? 4);
const DURATION_MS = Number(process.env.VW_BENCH_SECONDS ?? 60) * 1000;
const POLL_MS = 100;

const stack = new E2eStack({ devices: DEVICES, heartbeatS: 5 });
await stack.start();
try {
  const seenAt = new Map<string, number>(); // device/boot/seq -> first sighting on the broker
  const alertSeenAt = new Map<string, number>();
  const alertLatencyMs: number[] = [];
  const monitor = await mqtt.connectAsync(stack.broker.url, { clientId: "vw-bench-e2e-monitor" });
  const localAlerts = `vw/v1/${SITE}/_gw/${GATEWAY_ID}/alert`;
  monitor.on("message", (topic, payload) => {
    const now = Date.now();
    let value: Record<string, unknown>;
    try {
      value = decodeCbor(new Uint8Array(payload)) as Record<string, unknown>;
    } catch {
      return;
    }
    const key = `${String(value.d)}/${String(value.b)}/${String(value.s)}`;
    if (topic === localAlerts) {
      const from = alertSeenAt.get(key);
      if (from !== undefined) alertLatencyMs.push(now - from);
      return;
    }
    const parsed = parseDeviceTopic(topic);
    if (parsed?.kind === "tele" && !seenAt.has(key)) seenAt.set(key, now);
    if (parsed?.kind === "alert" && !alertSeenAt.has(key)) alertSeenAt.set(key, now);
  });
  await monitor.subscribeAsync([`vw/v1/${SITE}/+/tele`, `vw/v1/${SITE}/+/alert`, localAlerts], { qos: 0 });

  const queryable = new Set<string>();
  const latencyMs: number[] = [];
  const query = async (q: string) => {
    const response = await fetch(`${stack.influx.url}/query`, { method: "POST", body: new URLSearchParams({ q, db: DATABASE, epoch: "u" }) });
    const body = (await response.json()) as { results: { series?: { tags?: Record<string, string>; columns: string[]; values: unknown[][] }[] }[] };
    return body.results[0]?.series ?? [];
  };

  // baseline: straight to /write, then poll until queryable
  const baselineMs: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = Date.now();
    const ts = t0 * 1000 + i;
    await stack.influx.write(DATABASE, `bench_direct,device=direct n=${i}i ${ts}`, "u");
    for (;;) {
      const series = await query(`SELECT n FROM bench_direct WHERE time = ${ts}u`);
      if (series.length > 0) break;
      await sleep(POLL_MS);
    }
    baselineMs.push(Date.now() - t0);
    await sleep(200);
  }

  const startedMs = Date.now();
  const ackedAtStart = (await stack.fleet.snapshot()).acknowledged;
  let lastTimeUs = startedMs * 1000;
  while (Date.now() - startedMs < DURATION_MS) {
    await sleep(POLL_MS);
    const series = await query(`SELECT seq, boot FROM vw_tele WHERE time > ${lastTimeUs - 5_000_000}u GROUP BY device`);
    const now = Date.now();
    for (const s of series) {
      const device = s.tags?.device ?? "";
      for (const [time, seq, boot] of s.values as [number, number, number][]) {
        const key = `${device}/${boot}/${seq}`;
        lastTimeUs = Math.max(lastTimeUs, time);
        if (queryable.has(key)) continue;
        queryable.add(key);
        const published = seenAt.get(key);
        if (published !== undefined && published >= startedMs) latencyMs.push(now - published);
      }
    }
  }
  const snapshot = await stack.fleet.snapshot();
  const elapsedS = (Date.now() - startedMs) / 1000;
  const messagesPerS = (snapshot.acknowledged - ackedAtStart) / elapsedS;
  await monitor.endAsync();

  const p50 = percentile(latencyMs, 50);
  const baselineP50 = percentile(baselineMs, 50);
  console.log(`devices ${DEVICES}, ${messagesPerS.toFixed(1)} msg/s for ${elapsedS.toFixed(0)} s; publish → queryable p50 ${p50} ms p99 ${percentile(latencyMs, 99)} ms over ${latencyMs.length} points; alert → local topic p50 ${percentile(alertLatencyMs, 50)} ms (${alertLatencyMs.length} alerts); direct /write → queryable p50 ${baselineP50} ms`);
  console.log(
    JSON.stringify({
      bench: "e2e",
      measured: "device publish -> queryable in InfluxDB (poll every 100 ms), through gateway and ingest; alert -> gateway local alert topic",
      devices: DEVICES,
      durationS: Math.round(elapsedS),
      messagesPerS: Number(messagesPerS.toFixed(1)),
      latencyP50Ms: p50,
      latencyP99Ms: percentile(latencyMs, 99),
      latencySamples: latencyMs.length,
      alertLatencyP50Ms: percentile(alertLatencyMs, 50),
      alertLatencyP99Ms: percentile(alertLatencyMs, 99),
      alertSamples: alertLatencyMs.length,
      baseline: "one line straight to InfluxDB /write -> queryable, same poller, same run",
      baselineP50Ms: baselineP50,
      ratio: p50 !== null && baselineP50 ? Number((p50 / baselineP50).toFixed(2)) : null,
    }),
  );
} finally {
  await stack.dispose();
}
