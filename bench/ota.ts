// npm run bench:ota — what a site-wide firmware update does to telemetry (issue 15).
// N simulated devices (the real firmware in XS, OTA agent on) against the real Mosquitto and the
// site distributor (gateway/ota/ota-distributor.ts). Each run measures a quiet phase (no update),
// then offers every device a release at once and measures while they download (until each has
// switched slot: its old boot's telemetry ends). Measured at a subscriber on the wall clock, not
// from the devices' clocks (the simulated clock drifts from wall time on a loaded host):
//   - gap p99: the time between consecutive telemetry messages of a device (a window every
//     window/rate s: a message held back by a download shows as a longer gap);
//   - delay p99: arrival time minus the device's timestamp, minus that device's median for the
//     phase (the clock offset cancels; what is left is how late a message came compared with usual).
// Runs alternate quiet/update with fresh devices; medians over the runs; the reboot gap (last
// telemetry of the old image to first of the new) is reported apart, it is the switch, not the
// download. One JSON line last: the update phase's figures, the quiet phase's as the baseline, ratios.
import { loadavg, tmpdir } from "node:os";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import mqtt from "mqtt";
import { startMosquitto } from "../test/helpers/mosquitto.js";
import { DeviceRunner } from "../simulator/device-runner.js";
import { OtaDistributor } from "../gateway/ota/ota-distributor.js";
import { decodeDeviceMessage } from "../protocol/schema/validate.js";
import { parseDeviceTopic } from "../protocol/topics.js";
import { fixtureImage, makeRelease, makeReleaseKey } from "../test/ota/helpers/test-release.js";
import { SITE, otaSpec } from "../test/ota/helpers/ota-harness.js";

const DEVICES = Number(process.env.VW_BENCH_OTA_DEVICES ?? 10);
const RUNS = Number(process.env.VW_BENCH_OTA_RUNS ?? 3);
const QUIET_MS = 30_000;
const UPDATE_TIMEOUT_MS = 240_000;

interface Arrival {
  device: string;
  boot: number;
  deviceMs: number;
  arrivalMs: number;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

const median = (values: number[]) => percentile(values, 50);

/** gap and delay figures of one phase: per device, over the messages of the given boots */
function figures(arrivals: Arrival[]): { gapP99Ms: number; delayP99Ms: number; messages: number } {
  const gaps: number[] = [];
  const delays: number[] = [];
  const byDevice = new Map<string, Arrival[]>();
  for (const a of arrivals) byDevice.set(a.device, [...(byDevice.get(a.device) ?? []), a]);
  for (const list of byDevice.values()) {
    for (let i = 1; i < list.length; i++) gaps.push((list[i] as Arrival).arrivalMs - (list[i - 1] as Arrival).arrivalMs);
    const raw = list.map((a) => a.arrivalMs - a.deviceMs);
    const mid = median(raw);
    for (const r of raw) delays.push(r - mid);
  }
  return { gapP99Ms: percentile(gaps, 99), delayP99Ms: percentile(delays, 99), messages: arrivals.length };
}

interface RunResult {
  quiet: ReturnType<typeof figures>;
  update: ReturnType<typeof figures>;
  rebootGapMedianMs: number;
  updateS: number;
}

async function run(index: number): Promise<RunResult> {
  const broker = await startMosquitto();
  const store = mkdtempSync(join(tmpdir(), "vw-bench-ota-"));
  const key = makeReleaseKey();
  const distributor = await OtaDistributor.start({ mqttUrl: broker.url, site: SITE, storeDir: store, releasePublicKeyPem: key.publicKeyPem });
  const arrivals: Arrival[] = [];
  const subscriber = await mqtt.connectAsync(broker.url, { clientId: `bench-ota-${index}`, clean: true });
  subscriber.on("message", (topic, payload) => {
    const arrivalMs = Date.now();
    const parsed = parseDeviceTopic(topic);
    if (!parsed || parsed.kind !== "tele") return;
    const message = decodeDeviceMessage("tele", payload, parsed.device);
    if (message.kind === "tele") arrivals.push({ device: parsed.device, boot: message.payload.b, deviceMs: message.payload.t, arrivalMs });
  });
  await subscriber.subscribeAsync(`vw/v1/${SITE}/+/tele`, { qos: 0 });
  const devices: DeviceRunner[] = [];
  try {
    for (let i = 0; i < DEVICES; i++) devices.push(await DeviceRunner.start({ spec: otaSpec(`bench-${index}-${i}`, broker.port, key), speed: 1 }));
    const firstBoot = new Map(devices.map((d) => [d.spec.deviceId, d.bootId]));
    await new Promise((r) => setTimeout(r, 5000)); // connected, first windows out
    const quietFrom = Date.now();
    await new Promise((r) => setTimeout(r, QUIET_MS));
    const quietTo = Date.now();
    const image = await fixtureImage("firmware-0-3-0");
    const release = makeRelease(key, { image, version: "0.3.0" });
    const updateFrom = Date.now();
    await distributor.offer({ release: { parts: { image, manifestBytes: release.manifestBytes, signature: release.signature } }, devices: devices.map((d) => d.spec.deviceId) });
    const deadline = Date.now() + UPDATE_TIMEOUT_MS;
    while (Date.now() < deadline && devices.some((d) => d.bootId === firstBoot.get(d.spec.deviceId))) await new Promise((r) => setTimeout(r, 500));
    const updateTo = Date.now();
    await new Promise((r) => setTimeout(r, 5000)); // the new boots' first telemetry
    const oldBoot = (a: Arrival) => a.boot === (firstBoot.get(a.device) ?? -1);
    const quiet = figures(arrivals.filter((a) => oldBoot(a) && a.arrivalMs >= quietFrom && a.arrivalMs < quietTo));
    const update = figures(arrivals.filter((a) => oldBoot(a) && a.arrivalMs >= updateFrom && a.arrivalMs <= updateTo));
    const rebootGaps = devices.map((d) => {
      const id = d.spec.deviceId;
      const last = arrivals.filter((a) => a.device === id && a.boot === firstBoot.get(id)).at(-1);
      const first = arrivals.find((a) => a.device === id && a.boot !== firstBoot.get(id));
      return last && first ? first.arrivalMs - last.arrivalMs : Number.NaN;
    }).filter(Number.isFinite);
    const switched = devices.filter((d) => d.bootId !== firstBoot.get(d.spec.deviceId)).length;
    if (switched < DEVICES) console.error(`run ${index}: only ${switched} of ${DEVICES} devices switched within ${UPDATE_TIMEOUT_MS / 1000} s`);
    return { quiet, update, rebootGapMedianMs: median(rebootGaps), updateS: (updateTo - updateFrom) / 1000 };
  } finally {
    for (const d of devices) await d.stop().catch(() => undefined);
    await subscriber.endAsync();
    await distributor.stop();
    await broker.dispose();
    rmSync(store, { recursive: true, force: true });
  }
}

const results: RunResult[] = [];
for (let i = 0; i < RUNS; i++) {
  const load = loadavg()[0]?.toFixed(2);
  const r = await run(i);
  results.push(r);
  console.log(JSON.stringify({ run: i + 1, load1: load, ...r }));
}
const pick = (f: (r: RunResult) => number) => Math.round(median(results.map(f)));
const summary = {
  bench: "ota",
  devices: DEVICES,
  runs: RUNS,
  load1: loadavg()[0]?.toFixed(2),
  telemetryGapP99Ms: pick((r) => r.update.gapP99Ms),
  baselineTelemetryGapP99Ms: pick((r) => r.quiet.gapP99Ms),
  gapRatio: Number((median(results.map((r) => r.update.gapP99Ms)) / median(results.map((r) => r.quiet.gapP99Ms))).toFixed(2)),
  telemetryDelayP99Ms: pick((r) => r.update.delayP99Ms),
  baselineTelemetryDelayP99Ms: pick((r) => r.quiet.delayP99Ms),
  delayRatio: Number((median(results.map((r) => r.update.delayP99Ms)) / Math.max(1, median(results.map((r) => r.quiet.delayP99Ms)))).toFixed(2)),
  rebootGapMedianMs: pick((r) => r.rebootGapMedianMs),
  updateDurationMedianS: pick((r) => r.updateS),
};
console.log(JSON.stringify(summary));
process.exit(0);
