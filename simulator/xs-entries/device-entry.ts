// Runs inside XS, one per simulated device: the real firmware (drivers, DSP, app, MQTT session,
// config) on the simulated board. It is firmware/main.ts with the board's parts in place of the
// ESP32's: host commands "boot" (wires and starts everything), "stats" (for the fleet's live line),
// "memory" (XS chunk/slot use through the simulator's memory probe, for bench:firmware-memory),
// "inject-fault" (an exception no firmware code catches, thrown from the next timer callback: the
// device then restarts as an ESP32 does, see simulator/device-runner.ts);
// installBoard adds "advance" (virtual time). No Node APIs here.
// OTA (BootOptions.ota): the agent runs on the simulated flash and crypto (firmware/sim/host/flash.ts,
// crypt.ts, ecdsa.ts, boot-control.ts), board "sim". `buildOverrides` is what a test build of this
// entry changes (test/ota/fixtures/): its version, the sensor part its driver expects, the broker
// port baked in.
import SMBus from "embedded:io/smbus";
import TCP from "embedded:io/socket/tcp";
import TLSSocket from "embedded:io/socket/tcp/tls";
import Preference from "preference";
import Net from "net";
import Time from "time";
import { onHostCommand } from "../../firmware/sim/host-bridge.js";
import { installBoard, BOARD_I2C_PINS } from "../../firmware/sim/board.js";
import { setVirtualTimer, virtualNowMs } from "../../firmware/sim/virtual-clock.js";
import { decodeCborValue } from "../../protocol/cbor-decoder.js";
import { syntheticMachine, type SyntheticMachineOptions } from "../../firmware/sim/signals/synthetic-machine.js";
import { Lis3dh } from "../../firmware/drivers/lis3dh.js";
import { Adxl345 } from "../../firmware/drivers/adxl345.js";
import type { AccelFifoSensor, SensorPart } from "../../firmware/drivers/accel-fifo-sensor.js";
import { FifoSampler } from "../../firmware/drivers/sampler.js";
import { VibrationAnalyzer } from "../../firmware/dsp/analyzer.js";
import type { DspCoreKind } from "../../firmware/dsp/dsp-core.js";
import { DeviceApp } from "../../firmware/app/device-app.js";
import { timerScheduler } from "../../firmware/app/timer-scheduler.js";
import { uptimeClock } from "../../firmware/app/uptime-clock.js";
import type { SocketProvider } from "../../firmware/net/mqtt-client.js";
import { socketProvider } from "../../firmware/net/socket-provider.js";
import { BUILD_DEFAULTS, type EffectiveConfig } from "../../firmware/config/device-config.js";
import type { RangeG } from "../../protocol/messages.js";
import "../../firmware/sim/host/boot-control.js";
import { moddablePlatform } from "../../firmware/ota/moddable-platform.js";
import { rollBackPendingBoot } from "../../firmware/ota/ota-agent.js";
import { OTA_REASONS } from "../../protocol/ota.js";

export interface BootOptions {
  deviceId: string;
  siteId: string;
  part: SensorPart;
  machine: SyntheticMachineOptions;
  /** host/port the firmware is built with: an address (the simulated board has no DNS) */
  broker: { host: string; port: number };
  /**
   * TLS to the broker, as the device build's default: the socket stack is the device's (TLS socket
   * over the guarded TCP socket); the certificates are the simulator's (DeviceSpec.socket.tls)
   */
  tls?: boolean;
  ring: { capacityMessages: number; capacityBytes: number };
  /** build-default overrides (e.g. a short heartbeat for tests) */
  defaults?: Partial<EffectiveConfig>;
  keepaliveMs?: number;
  connectTimeoutMs?: number;
  backoff?: { initialMs: number; maxMs: number };
  maxInflight?: number;
  /** wall clock at virtual time 0 (SNTP has set the clock before main, as setup/network does) */
  epochMs: number;
  /** boot-id randomness: differs per boot */
  seed: number;
  /** the analyzer's DSP core (default "native", as on the device; "reference" keeps the window in the XS heap) */
  dspCore?: DspCoreKind;
  /** the OTA agent, as a build with a release key has it; absent: a build without OTA */
  ota?: {
    /** release-signing public key, uncompressed P-256 point, hex ("04" || x || y) */
    publicKeyHex: string;
    /** default "sim" */
    board?: string;
    selfTestDeadlineMs?: number;
    progressIntervalMs?: number;
  };
}

/** what a test build of this entry bakes in differently (set at the top level of a fixture entry) */
export const buildOverrides: {
  firmwareVersion?: string;
  sensorPart?: SensorPart;
  brokerPort?: number;
  /** a deliberately degraded build: an uncaught exception after this many windows of each boot (the device restarts) */
  crashAfterWindows?: number;
} = {};

/** the analyzer of this build: the normal one, or a degraded one that throws after crashAfterWindows windows */
function analyzerFor(config: ConstructorParameters<typeof VibrationAnalyzer>[0]): VibrationAnalyzer {
  const crashAfter = buildOverrides.crashAfterWindows ?? 0;
  if (crashAfter === 0) return new VibrationAnalyzer(config);
  let windows = 0;
  class CrashingAnalyzer extends VibrationAnalyzer {
    override pushBlock(block: Int16Array, count: number, onWindow?: (result: VibrationAnalyzer["result"]) => void): void {
      super.pushBlock(block, count, (result) => {
        if (++windows >= crashAfter) throw new Error(`degraded build: crash after ${windows} windows`);
        onWindow?.(result);
      });
    }
  }
  return new CrashingAnalyzer(config);
}

/** the board name the simulated device's OTA agent checks manifests against */
export const SIM_BOARD = "sim";

/** XS's chunk and slot accounting (simulator/native/xs-memory-probe.c) */
export interface XsMemory {
  currentChunksBytes: number;
  peakChunksBytes: number;
  currentSlots: number;
  peakSlots: number;
  /** sizeof(txSlot) in this engine (32 on a 64-bit host, 16 on the ESP32) */
  slotBytes: number;
}

export interface MemoryReport {
  /** null when the XS worker has no memory probe (not the simulator's variant) */
  xs: XsMemory | null;
  dspCore: DspCoreKind | null;
  /** the analyzer's buffers: native core (C heap) or reference core (typed arrays), plus its result arrays */
  analyzerBufferBytes: number;
  ringDepth: number;
  ringBytes: number;
  dropped: number;
  /** whether this engine can collect before every allocation (xs_vwsim_stress; an -DmxStress=1 build) */
  stressAvailable: boolean;
}

/** simulated free heap: an ESP32 budget less what the ring holds (the rest of the heap is static) */
const SIMULATED_FREE_HEAP_BYTES = 96 * 1024;
const FIRMWARE_VERSION = "0.2.0";
export function firmwareVersion(): string {
  return buildOverrides.firmwareVersion ?? FIRMWARE_VERSION;
}

let app: DeviceApp | undefined;
let sampler: FifoSampler | undefined;
let analyzerOf: VibrationAnalyzer | undefined;

function mulberry(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    let t = (state = (state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

onHostCommand("boot", (message) => {
  if (app) throw new Error("already booted");
  const options = message.options as BootOptions;
  const defaults: EffectiveConfig = { ...BUILD_DEFAULTS, ...options.defaults };
  installBoard({ part: options.part, signal: syntheticMachine(options.machine) });
  const sensorOptions = { sensor: { io: SMBus, ...BOARD_I2C_PINS }, rateHz: defaults.sampleRateHz, rangeG: defaults.rangeG };
  const platform = options.ota ? moddablePlatform(options.ota.publicKeyHex) : undefined;
  const part = buildOverrides.sensorPart ?? options.part;
  let sensor: AccelFifoSensor;
  try {
    sensor = part === "lis3dh" ? new Lis3dh(sensorOptions) : new Adxl345(sensorOptions);
  } catch (error) {
    // the identity read failed: a pending image rolls back (the bootloader restarts the worker)
    const reason = `${OTA_REASONS.selfTestSensor}: ${(error as Error).message}`;
    if (platform && rollBackPendingBoot(platform, Preference, reason)) return { bootId: 0 };
    throw error;
  }
  const analyzer = analyzerFor({
    sampleRateHz: sensor.sampleRateHz,
    windowSamples: defaults.windowSamples,
    hopSamples: defaults.hopSamples,
    learningWindows: defaults.learningWindows,
    ...(options.dspCore ? { dspCore: options.dspCore } : {}),
  });
  analyzerOf = analyzer;
  sampler = new FifoSampler({ sensor, analyzer });
  const random = mulberry(options.seed);
  app = new DeviceApp({
    deviceId: options.deviceId,
    siteId: options.siteId,
    firmwareVersion: firmwareVersion(),
    sampler,
    analyzer,
    sensor: {
      part: sensor.part,
      apply(sampleRateHz: number, rangeG: number): number {
        sensor.configure({ rateHz: sampleRateHz, rangeG: rangeG as RangeG });
        return sensor.sampleRateHz;
      },
    },
    preferences: Preference,
    network: {
      // the device's own MQTT client over the device's socket stack (firmware/net/socket-provider.ts)
      // on the simulated sockets (real TCP connections; TLS done by the simulator's Node side)
      provider: {
        socket: socketProvider(
          { TCP: TCP as unknown as SocketProvider["io"], TLS: TLSSocket as unknown as SocketProvider["io"] },
          options.tls ? { protocolVersion: 0x303, serverName: options.broker.host } : undefined,
        ),
      },
      host: options.broker.host,
      port: buildOverrides.brokerPort ?? options.broker.port,
      keepaliveMs: options.keepaliveMs ?? 30_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      backoff: options.backoff ?? { initialMs: 1000, maxMs: 30_000 },
      maxInflight: options.maxInflight ?? 8,
      maxInboundBytes: 1024,
    },
    ring: options.ring,
    scheduler: timerScheduler,
    random,
    clockMs: () => options.epochMs + virtualNowMs(),
    // as main.ts: from Time.ticks, which wraps as the ESP32's signed 32-bit count does
    uptimeMs: uptimeClock(() => Time.ticks),
    freeMemoryBytes: () => SIMULATED_FREE_HEAP_BYTES - (app?.ring.byteLength ?? 0),
    rssiDbm: () => Net.get("RSSI"),
    defaults,
    ...(platform && options.ota
      ? { ota: { board: options.ota.board ?? SIM_BOARD, platform, ...(options.ota.selfTestDeadlineMs ? { selfTestDeadlineMs: options.ota.selfTestDeadlineMs } : {}), ...(options.ota.progressIntervalMs ? { progressIntervalMs: options.ota.progressIntervalMs } : {}) } }
      : {}),
  });
  app.ota?.sensorIdentified(true);
  app.start();
  return { bootId: app.bootId };
});

onHostCommand("stats", () => {
  if (!app || !sampler) return null;
  return {
    bootId: app.bootId,
    connected: app.session.connected,
    state: app.session.state,
    lastLossReason: app.session.lastLossReason,
    ringDepth: app.ring.depth,
    dropped: app.ring.dropped,
    nextSequence: app.messages.nextSequence,
    overruns: sampler.overruns,
    configVersion: app.config.current.cv,
    sampleRateHz: analyzerRate(),
    app: app.counters,
    session: app.session.counters,
    virtualMs: virtualNowMs(),
    firmwareVersion: firmwareVersion(),
    ota: app.ota ? { ...app.ota.status(), counters: app.ota.counters, download: app.ota.downloadCounters ?? null } : null,
  };
});

type Probe = { memory?: () => XsMemory; resetPeaks?: () => void; stress?: (on?: boolean) => boolean; gc?: () => void };
const probe = (): Probe => {
  const global = globalThis as unknown as Record<string, unknown>;
  const fn = <T>(name: string) => (typeof global[name] === "function" ? (global[name] as T) : undefined);
  return {
    memory: fn<() => XsMemory>("xs_vwsim_memory"),
    resetPeaks: fn<() => void>("xs_vwsim_reset_peaks"),
    stress: fn<(on?: boolean) => boolean>("xs_vwsim_stress"),
    gc: fn<() => void>("gc"),
  };
};

// {gc?: true} collects garbage first (xsnap's global gc()); {resetPeaks?: true} restarts the peaks
// from the current values after reading them; {stress?: boolean} then turns collection before every
// allocation on or off (only in a worker built with -DmxStress=1: the peaks are then live data).
// Works before "boot" too (the loaded bundle alone).
onHostCommand("memory", (message) => {
  const { memory, resetPeaks, stress, gc } = probe();
  if (message.gc === true) gc?.();
  const xs = memory ? memory() : null;
  if (message.resetPeaks === true) resetPeaks?.();
  const stressAvailable = !stress ? false : typeof message.stress === "boolean" ? stress(message.stress) : stress();
  const report: MemoryReport = {
    xs,
    dspCore: analyzerOf ? analyzerOf.dspCore : null,
    analyzerBufferBytes: analyzerOf ? analyzerOf.bufferBytes : 0,
    ringDepth: app ? app.ring.depth : 0,
    ringBytes: app ? app.ring.byteLength : 0,
    dropped: app ? app.ring.dropped : 0,
    stressAvailable,
  };
  return report;
});

/** what the RAM ring held when a fault was injected: what the restart loses */
export interface FaultSnapshot {
  bootId: number;
  /** sequence numbers of the messages in the ring (waiting or in flight) */
  ringSequences: number[];
  /** the next sequence number the boot would have used */
  nextSequence: number;
}

// Arms a fault for the next turn of the timer loop and answers what the ring holds now: nothing
// runs in between (the next timer due is this one), so that is exactly what the restart loses.
onHostCommand("inject-fault", (message) => {
  if (!app) throw new Error("not booted");
  const ring = app.ring;
  const snapshot: FaultSnapshot = {
    bootId: app.bootId,
    ringSequences: ring.entries().map((entry) => (decodeCborValue(entry.bytes) as { s: number }).s).sort((a, b) => a - b),
    nextSequence: app.messages.nextSequence,
  };
  const reason = typeof message.reason === "string" ? message.reason : "injected fault";
  setVirtualTimer(() => {
    throw new Error(reason);
  }, 0);
  return snapshot;
});

function analyzerRate(): number {
  return app ? app.config.current.sampleRateHz : 0;
}
