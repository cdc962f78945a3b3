// bench:firmware-memory — XS chunk and slot use of the real firmware (simulator/xs-entries/device-entry.ts:
// drivers, native DSP, app, MQTT session, store-and-forward ring) at the worst moment for memory: a
// reconnect with a full ring. Issue 13, point 6: goal ≥ 20 KB of the ESP32's chunk heap left then.
//
// Method: one simulated device (ADXL345 at 3200 Hz, the build defaults: 2048-sample window, hop 2048;
// the default ring, ring_messages 128 / ring_bytes 16384) in the simulator's XS worker, against a
// real Mosquitto (test/helpers/services.ts), driven here step by step like simulator/device-runner.ts
// (deliver MQTT events, advance 50 ms of virtual time) so that every step can first run a garbage
// collection and read XS's own accounting (host command "memory" → xs_vwsim_memory of
// simulator/native/xs-memory-probe.c). xsnap's chunk heap is 32 MB and rarely collects; a collection
// per step makes the figures what a 77 KB heap, which collects when full, keeps alive:
//   - "current" after a collection: live data at a step boundary;
//   - the peak since xs_vwsim_reset_peaks: live data at the start of a step plus everything that step
//     allocated (garbage included): an upper bound on live data inside any step.
// Moments: steady state (connected, 20 s of windows), full ring (broker stopped until the ring drops
// messages), and the peak from the full ring through the reconnect and the drain of the backlog.
// The same device with dspCore "reference" (the window ring and FFT buffers as typed arrays in the XS
// chunk heap, as before the native core) is the baseline, measured in the same run.
//
// ESP32 conversion: slots × 16 bytes (sizeof(txSlot) is 32 here, 16 on the 32-bit ESP32; the counts
// carry over); chunk bytes as measured, an upper bound (pointers inside chunks shrink to 4 bytes).
// Only the firmware's own share counts against the device's heaps: what the engine and the evaluated
// bundle hold before "boot" (XS's built-ins, the modules' bytecode, module-level objects) is in flash
// on the device (Moddable preloads modules and runs XS built-ins from ROM), so it is measured
// ("loaded") and subtracted. The simulator has no TLS: the SDK's documented handshake needs (~10 KB
// chunk, ~6 KB slot heap, documentation/network/securesocket.md) are added to the reconnect peak.
// The reconnect peak is exact: the run uses the simulator's worker built with XS's -DmxStress=1
// (`node scripts/build-xs-worker.js --stress`, build/xsnap-dsp/stress/, which the npm script runs
// first), and from the full ring to the end of the drain XS collects before every allocation
// (xs_vwsim_stress), so the peak is live data only (no garbage), within the simulator's own live
// objects (the host bridge's JSON while a host call is under way). That phase is slow (minutes).
// VW_BENCH_FAST=1: the normal worker, a collection per step only; the reconnect peak is then an
// upper bound full of simulator garbage (simulated I2C/SMBus buffers, the bridge's JSON), and the
// largest post-collection figure a lower bound. VW_BENCH_CORES=native skips the baseline.
// Prints one JSON line last.
import { existsSync } from "node:fs";
import { loadavg, type as osType } from "node:os";
import { join } from "node:path";
import { bundleFirmware, repoRoot } from "../simulator/bundle-firmware.js";
import { TcpBridge } from "../simulator/tcp-bridge.js";
import { PreferenceStore } from "../simulator/preference-store.js";
import { DEVICE_ENTRY, deviceHostCalls, type DeviceSpec, type DeviceStats } from "../simulator/device-runner.js";
import type { BootOptions, MemoryReport, XsMemory } from "../simulator/xs-entries/device-entry.js";
import type { DspCoreKind } from "../firmware/dsp/dsp-core.js";
import type { XsWorker } from "../simulator/xs-worker.js";
import { startMosquitto, type MosquittoHandle } from "../test/helpers/services.js";
import { deviceSpec } from "../test/firmware-net/device-harness.js";

/** esp32 creation in firmware/manifest.json */
const ESP32_CHUNK_HEAP_BYTES = 78_848;
const ESP32_HEAP_SLOTS = 4_928;
/** sizeof(txSlot) on the 32-bit ESP32 */
const ESP32_SLOT_BYTES = 16;
/** securesocket handshake (REFERENCE.md, "Moddable SDK": ~10 KB chunk, ~6 KB slot heap) */
const TLS_CHUNK_BYTES = 10 * 1024;
const TLS_SLOT_BYTES = 6 * 1024;
const GOAL_CHUNK_LEFT_BYTES = 20 * 1024;
/** firmware/manifest.json config ring_messages / ring_bytes */
const RING = { capacityMessages: 128, capacityBytes: 16_384 };
const STEP_MS = 50;
/** virtual ms per real ms: the fill takes ~1 min of device time */
const SPEED = Number(process.env.VW_BENCH_SPEED ?? 8);
const STEADY_MS = 20_000;
const FILL_LIMIT_MS = 600_000;
const DRAIN_LIMIT_MS = 120_000;
/** after the drain: time for the reconnect's retained status, subscriptions and heartbeat to settle */
const SETTLE_MS = 5_000;
const FAST = process.env.VW_BENCH_FAST === "1";
const STRESS = !FAST;
const STRESS_WORKER = join(repoRoot, "build/xsnap-dsp/stress/bin", ({ Linux: "lin", Darwin: "mac" } as Record<string, string>)[osType()] ?? "lin", "release/xsnap-worker");
const WORKER_PATH = process.env.VW_BENCH_XS_WORKER || (STRESS ? STRESS_WORKER : undefined);
const CORES = (process.env.VW_BENCH_CORES ?? "native,reference").split(",") as DspCoreKind[];

interface Figures {
  chunksBytes: number;
  slots: number;
}

interface Moment {
  /** as the host's xsnap counts (slots of 32 bytes) */
  measured: Figures;
  /** measured − loaded: the firmware's own RAM on the device */
  firmware: Figures;
  /** firmware share on the ESP32: chunk bytes (upper bound), slots × 16 */
  esp32ChunkBytes: number;
  esp32SlotBytes: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const progress = (text: string) => process.stderr.write(`bench:firmware-memory: ${text}\n`);

/** one simulated device, stepped by the bench (simulator/device-runner.ts's loop, with a memory read between steps) */
class ProbedDevice {
  readonly spec: DeviceSpec;
  readonly #worker: XsWorker;
  readonly #bridge: TcpBridge;
  #virtualMs = 0;
  #startedAt = performance.now();

  private constructor(spec: DeviceSpec, worker: XsWorker, bridge: TcpBridge) {
    this.spec = spec;
    this.#worker = worker;
    this.#bridge = bridge;
  }

  /** starts the worker and evaluates the bundle; boot() starts the firmware */
  static async load(brokerUrl: string, spec: DeviceSpec): Promise<ProbedDevice> {
    const { startXsWorker } = await import("../simulator/xs-worker.js");
    const bridge = new TcpBridge(spec.socket);
    const preferences = new PreferenceStore();
    const worker = await startXsWorker({
      name: `bench-memory-${spec.deviceId}`,
      ...(WORKER_PATH ? { workerPath: WORKER_PATH } : {}),
      onHostCall: deviceHostCalls(spec.deviceId, bridge, preferences, (what) => (what === "RSSI" ? -60 : "")),
    });
    await worker.evaluate(await bundleFirmware(DEVICE_ENTRY));
    return new ProbedDevice(spec, worker, bridge);
  }

  async boot(): Promise<void> {
    const options: BootOptions = { ...this.spec, epochMs: Date.now(), seed: 0x5eed };
    await this.#worker.call("boot", { options });
    this.#startedAt = performance.now();
    this.#virtualMs = 0;
  }

  async memory(args: { gc?: boolean; resetPeaks?: boolean; stress?: boolean } = {}): Promise<MemoryReport & { xs: XsMemory }> {
    const report = (await this.#worker.call<MemoryReport>("memory", args)).value;
    if (!report.xs) throw new Error("this XS worker has no xs_vwsim_memory: rebuild it (node scripts/build-xs-worker.js)");
    return report as MemoryReport & { xs: XsMemory };
  }

  async stats(): Promise<DeviceStats> {
    return (await this.#worker.call<DeviceStats>("stats")).value;
  }

  /**
   * steps until `done` (checked after every step) or `limitMs` of virtual time; before each step a
   * garbage collection and a memory read, whose post-collection figures go to `onLive`
   */
  async run(limitMs: number, done: (stats: DeviceStats) => boolean, onLive: (xs: XsMemory) => void = () => {}): Promise<DeviceStats> {
    const until = this.#virtualMs + limitMs;
    for (;;) {
      onLive((await this.memory({ gc: true })).xs);
      const events = this.#bridge.takeEvents();
      if (events.length > 0) await this.#worker.call("tcp.events", { events });
      await this.#worker.call("advance", { ms: STEP_MS });
      this.#virtualMs += STEP_MS;
      const stats = await this.stats();
      if (done(stats)) return stats;
      if (this.#virtualMs >= until) throw new Error(`${this.spec.deviceId}: not done after ${limitMs} ms of device time (${JSON.stringify(stats)})`);
      // pace device time at SPEED × real time; let MQTT.js do its I/O
      let aheadMs = this.#virtualMs / SPEED - (performance.now() - this.#startedAt);
      if (aheadMs <= 0) await new Promise((resolve) => setImmediate(resolve));
      while (aheadMs > 0 && this.#bridge.pendingEvents === 0) {
        await sleep(Math.min(aheadMs, 20));
        aheadMs = this.#virtualMs / SPEED - (performance.now() - this.#startedAt);
      }
    }
  }

  get virtualMs(): number {
    return this.#virtualMs;
  }

  async close(): Promise<void> {
    await this.#worker.terminate().catch(() => undefined);
    await this.#bridge.dispose();
  }
}

async function measure(broker: MosquittoHandle, dspCore: DspCoreKind) {
  const spec: DeviceSpec = {
    ...deviceSpec(`mem-${dspCore}`, broker.port),
    ring: RING,
    defaults: {}, // the build defaults: 3200 Hz, window 2048, hop 2048, heartbeat 60 s
    dspCore,
  };
  const device = await ProbedDevice.load(broker.url, spec);
  try {
    const loaded = (await device.memory({ gc: true })).xs;
    const moment = (xs: { currentChunksBytes: number; currentSlots: number }): Moment => {
      const firmware = { chunksBytes: xs.currentChunksBytes - loaded.currentChunksBytes, slots: xs.currentSlots - loaded.currentSlots };
      return {
        measured: { chunksBytes: xs.currentChunksBytes, slots: xs.currentSlots },
        firmware,
        esp32ChunkBytes: firmware.chunksBytes,
        esp32SlotBytes: firmware.slots * ESP32_SLOT_BYTES,
      };
    };
    const peakOf = (xs: XsMemory) => moment({ currentChunksBytes: xs.peakChunksBytes, currentSlots: xs.peakSlots });
    /** largest post-collection figures seen at step boundaries */
    const live = { chunksBytes: 0, slots: 0 };
    const trackLive = (xs: XsMemory) => {
      live.chunksBytes = Math.max(live.chunksBytes, xs.currentChunksBytes);
      live.slots = Math.max(live.slots, xs.currentSlots);
    };
    const resetLive = () => Object.assign(live, { chunksBytes: 0, slots: 0 });

    await device.boot();
    const started = await device.run(60_000, (s) => s.connected && s.app.telemetry >= 3);
    // steady state: connected, windows and telemetry flowing
    const steadyFrom = started.app.windows;
    await device.memory({ gc: true, resetPeaks: true });
    resetLive();
    const steadyUntil = device.virtualMs + STEADY_MS;
    const steadyStats = await device.run(STEADY_MS + 1000, () => device.virtualMs >= steadyUntil, trackLive);
    const steadyPeak = peakOf((await device.memory()).xs);
    const steadyLive = moment({ currentChunksBytes: live.chunksBytes, currentSlots: live.slots });
    const steady = await device.memory({ gc: true });

    // cut the broker until the ring is full: it drops messages, and keeps dropping
    await broker.stop();
    const outageFrom = device.virtualMs;
    const fillMsOf = () => device.virtualMs - outageFrom;
    let firstDrop = -1;
    const full = await device.run(FILL_LIMIT_MS, (s) => {
      if (s.dropped > 0 && firstDrop < 0) firstDrop = s.dropped;
      return firstDrop >= 0 && s.dropped >= firstDrop + 3 && !s.connected;
    });
    const fullRing = await device.memory({ gc: true, resetPeaks: true, ...(STRESS ? { stress: true } : {}) });
    if (STRESS && !fullRing.stressAvailable) throw new Error(`${WORKER_PATH} has no mxStress: build it with node scripts/build-xs-worker.js --stress`);
    progress(`${dspCore}: ring full after ${fillMsOf()} ms of device time (${fullRing.ringDepth} messages, ${fullRing.ringBytes} bytes, ${fullRing.dropped} dropped); reconnecting${STRESS ? " (XS collects before every allocation: slow)" : ""}`);
    const fillMs = fillMsOf();

    // restore it: reconnect (backoff), drain the backlog, settle; the peak covers all of it
    resetLive();
    trackLive(fullRing.xs);
    await broker.start();
    const reconnectFrom = device.virtualMs;
    const connectsBefore = full.session.connects;
    const drainedStats = await device.run(DRAIN_LIMIT_MS, (s) => s.connected && s.session.connects > connectsBefore && s.ringDepth === 0, trackLive);
    const drainedAt = device.virtualMs;
    const reconnectPeakXs = (await device.memory({ stress: false })).xs;
    progress(`${dspCore}: drained in ${drainedAt - reconnectFrom} ms of device time; settling`);
    // settle (retained status, heartbeat): live figures only
    const drained = await device.run(SETTLE_MS + 1000, () => device.virtualMs - drainedAt >= SETTLE_MS, trackLive);
    const afterDrain = await device.memory({ gc: true });
    return {
      dspCore,
      reconnectPeakIs: STRESS
        ? "live data: XS collected before every allocation from the full ring to the drained ring"
        : "VW_BENCH_FAST: live at a step's start + all the step allocated (a collection per 50 ms step): an upper bound, simulator garbage included",
      loaded: { chunksBytes: loaded.currentChunksBytes, slots: loaded.currentSlots },
      hostSlotBytes: loaded.slotBytes,
      steady: moment(steady.xs),
      steadyLiveMax: steadyLive,
      steadyPeak,
      fullRing: moment(fullRing.xs),
      reconnectPeak: peakOf(reconnectPeakXs),
      reconnectLiveMax: moment({ currentChunksBytes: live.chunksBytes, currentSlots: live.slots }),
      afterDrain: moment(afterDrain.xs),
      ringAtFull: { depth: fullRing.ringDepth, bytes: fullRing.ringBytes, dropped: fullRing.dropped, fillVirtualMs: fillMs },
      reconnect: { drainVirtualMs: drainedAt - reconnectFrom, connects: drained.session.connects, publishedAtDrain: drainedStats.session.published, acknowledgedAtDrain: drainedStats.session.acknowledged },
      windows: drained.app.windows,
      steadyWindows: steadyStats.app.windows - steadyFrom,
      analyzerBufferBytes: steady.analyzerBufferBytes,
      sampleRateHz: steadyStats.sampleRateHz,
    };
  } finally {
    await device.close();
  }
}

type Result = Awaited<ReturnType<typeof measure>>;

/** the worst moment: the reconnect peak with a full ring, plus the TLS handshake the simulator does not do */
function worst(result: Result) {
  const chunkBytes = result.reconnectPeak.esp32ChunkBytes + TLS_CHUNK_BYTES;
  const slotBytes = result.reconnectPeak.esp32SlotBytes + TLS_SLOT_BYTES;
  return {
    chunkBytes,
    slotBytes,
    chunkHeapLeftBytes: ESP32_CHUNK_HEAP_BYTES - chunkBytes,
    slotHeapLeftBytes: ESP32_HEAP_SLOTS * ESP32_SLOT_BYTES - slotBytes,
  };
}

const line = (label: string, m: Moment) =>
  `${label.padEnd(36)} chunks ${String(m.esp32ChunkBytes).padStart(7)} B   slots ${String(m.firmware.slots).padStart(5)} (${String(m.esp32SlotBytes).padStart(6)} B on the ESP32)   [xsnap: ${m.measured.chunksBytes} B, ${m.measured.slots} slots]`;

if (WORKER_PATH && !existsSync(WORKER_PATH)) {
  throw new Error(`no XS worker at ${WORKER_PATH}${STRESS ? ": run node scripts/build-xs-worker.js --stress (npm run bench:firmware-memory does), or VW_BENCH_FAST=1" : ""}`);
}
const broker = await startMosquitto();
try {
  const results = new Map<DspCoreKind, Result>();
  for (const core of CORES) results.set(core, await measure(broker, core));
  const native = results.get("native");
  if (!native) throw new Error("VW_BENCH_CORES must include native");
  const reference = results.get("reference");
  const worstNative = worst(native);
  const worstReference = reference ? worst(reference) : undefined;
  for (const r of results.values()) {
    console.log(`dspCore ${r.dspCore}: loaded bundle (flash on the device, subtracted) ${r.loaded.chunksBytes} B chunks, ${r.loaded.slots} slots; analyzer buffers ${r.analyzerBufferBytes} B`);
    console.log(line("  steady state (after GC)", r.steady));
    console.log(line("  steady, step peak (garbage incl.)", r.steadyPeak));
    console.log(line("  full ring (after GC)", r.fullRing));
    console.log(line("  reconnect, live max (after GC)", r.reconnectLiveMax));
    console.log(line(STRESS ? "  reconnect, live peak (stress)" : "  reconnect, step peak (garbage)", r.reconnectPeak));
    console.log(line("  drained (after GC)", r.afterDrain));
    console.log(`  ring at full: ${JSON.stringify(r.ringAtFull)}; reconnect: ${JSON.stringify(r.reconnect)}`);
    const w = worst(r);
    console.log(`  worst (reconnect peak + TLS ${TLS_CHUNK_BYTES} B chunk, ${TLS_SLOT_BYTES} B slot): chunk heap left ${w.chunkHeapLeftBytes} of ${ESP32_CHUNK_HEAP_BYTES} B, slot heap left ${w.slotHeapLeftBytes} of ${ESP32_HEAP_SLOTS * ESP32_SLOT_BYTES} B`);
  }
  const figures = (r: Result) => ({
    steadyChunkBytes: r.steady.esp32ChunkBytes,
    steadySlots: r.steady.firmware.slots,
    fullRingChunkBytes: r.fullRing.esp32ChunkBytes,
    fullRingSlots: r.fullRing.firmware.slots,
    reconnectPeakChunkBytes: r.reconnectPeak.esp32ChunkBytes,
    reconnectPeakSlots: r.reconnectPeak.firmware.slots,
    reconnectLiveMaxChunkBytes: r.reconnectLiveMax.esp32ChunkBytes,
    reconnectLiveMaxSlots: r.reconnectLiveMax.firmware.slots,
    afterDrainChunkBytes: r.afterDrain.esp32ChunkBytes,
    afterDrainSlots: r.afterDrain.firmware.slots,
    loadedBundleChunkBytes: r.loaded.chunksBytes,
    loadedBundleSlots: r.loaded.slots,
    chunkHeapLeftAtWorstBytes: worst(r).chunkHeapLeftBytes,
    slotHeapLeftAtWorstBytes: worst(r).slotHeapLeftBytes,
    analyzerBufferBytes: r.analyzerBufferBytes,
    ringAtFull: r.ringAtFull,
  });
  console.log(JSON.stringify({
    bench: "firmware-memory",
    measured: "XS chunk bytes and slots of the firmware (device entry, minus the engine and the loaded bundle, which are flash on the device) at steady state and with a full store-and-forward ring (after a GC), and the peak from the full ring through the reconnect and the drain; ESP32: chunk bytes as measured (upper bound: 64-bit pointers), slots × 16; worst = reconnect peak + the TLS handshake's documented needs",
    sampleRateHz: native.sampleRateHz,
    windowSamples: 2048,
    ring: RING,
    part: "adxl345",
    dspCore: "native",
    reconnectPeakIs: native.reconnectPeakIs,
    ...figures(native),
    tlsAllowanceChunkBytes: TLS_CHUNK_BYTES,
    tlsAllowanceSlotBytes: TLS_SLOT_BYTES,
    worstChunkBytes: worstNative.chunkBytes,
    worstSlotBytes: worstNative.slotBytes,
    chunkHeapLeftAtWorstBytes: worstNative.chunkHeapLeftBytes,
    slotHeapLeftAtWorstBytes: worstNative.slotHeapLeftBytes,
    nativeBufferBytes: native.analyzerBufferBytes,
    nativeBuffersWhere: "malloc (ESP-IDF heap, 'System Free Memory'), outside the XS chunk heap, except the analyzer's bandRmsMS2 Float32Array",
    esp32: { chunkHeapBytes: ESP32_CHUNK_HEAP_BYTES, heapSlots: ESP32_HEAP_SLOTS, slotBytes: ESP32_SLOT_BYTES, hostSlotBytes: native.hostSlotBytes },
    goal: { chunkHeapLeftAtWorstBytes: GOAL_CHUNK_LEFT_BYTES },
    pass: worstNative.chunkHeapLeftBytes >= GOAL_CHUNK_LEFT_BYTES,
    slotHeapPass: worstNative.slotHeapLeftBytes >= 0,
    baseline: reference && worstReference
      ? { what: 'the same firmware with dspCore "reference" (window ring and FFT buffers as XS typed arrays), same run, same broker', ...figures(reference), pass: worstReference.chunkHeapLeftBytes >= GOAL_CHUNK_LEFT_BYTES }
      : null,
    ratio: worstReference ? { worstChunkBytesReferenceOverNative: Number((worstReference.chunkBytes / worstNative.chunkBytes).toFixed(3)) } : null,
    xsWorker: WORKER_PATH ? WORKER_PATH.replace(`${repoRoot}/`, "") : "simulator (build/xsnap-dsp)",
    speed: SPEED,
    loadAverage1m: Number(loadavg()[0]!.toFixed(2)),
  }));
} finally {
  await broker.dispose();
}
