// One simulated device: the firmware bundle (simulator/xs-entries/device-entry.ts) in its own XS
// worker, its sockets (real TCP connections: the firmware's own MQTT client talks to the real
// broker through them), its preference store, and the loop that drives its virtual time. The loop
// alternates "deliver the sockets' events" and "advance virtual time by stepMs", pacing virtual
// time at `speed` x real time (as fast as XS can when it cannot keep up).
// Every call into the worker goes through one queue: XS runs one command at a time.
// reboot() is a power cut: the worker dies (no DISCONNECT: the broker publishes the Will), a new
// worker boots with the same preference store, as flash outlives a reset.
// An exception the firmware does not catch (in a timer or socket callback) does what it does on an
// ESP32 (fxAbort -> esp_restart): the device restarts the same way, losing its RAM ring, with a
// new boot id; the fault is recorded in `faults`. Only a failure of the simulator itself (the
// worker process gone) stops the loop and sets `error`.
import { bundleFirmware } from "./bundle-firmware.js";
import { FirmwareError, startXsWorker, type XsWorker } from "./xs-worker.js";
import { TcpBridge, type SocketSettings } from "./tcp-bridge.js";
import { PreferenceStore } from "./preference-store.js";
import type { BootOptions, FaultSnapshot } from "./xs-entries/device-entry.js";

export const DEVICE_ENTRY = "simulator/xs-entries/device-entry.ts";

export type DeviceSpec = Omit<BootOptions, "epochMs" | "seed"> & {
  /** mean simulated RSSI, dBm */
  rssiDbm?: number;
  /** how the simulated sockets behave (segments, send buffer, TLS material) */
  socket?: SocketSettings;
};

export interface DeviceStats {
  bootId: number;
  connected: boolean;
  state: string;
  /** why the last connection ended or the last attempt failed ("" before any loss) */
  lastLossReason: string;
  ringDepth: number;
  dropped: number;
  nextSequence: number;
  overruns: number;
  configVersion: number;
  sampleRateHz: number;
  app: { windows: number; telemetry: number; alerts: number; statuses: number; configApplied: number; configRejected: number; persistFailures: number; loadFailures: number };
  session: { connects: number; connectionLosses: number; published: number; acknowledged: number };
  virtualMs: number;
}

export interface DeviceRunnerOptions {
  /** the device; it connects to spec.broker, as the firmware is built to */
  spec: DeviceSpec;
  /** virtual ms per real ms (1 = real time) */
  speed?: number;
  /** virtual ms per advance */
  stepMs?: number;
  /** the device's flash; pass the old one to simulate a reboot */
  preferences?: PreferenceStore;
}

let bootCounter = 0;

/** answers a simulated device's host calls: sockets through the bridge, flash from the preference store, Wi-Fi facts from `net` */
export function deviceHostCalls(
  deviceId: string, bridge: TcpBridge, preferences: PreferenceStore, net: (what: string) => string | number | string[],
): (message: Record<string, unknown> & { op: string }) => unknown {
  return (message) => {
    const fromBridge = bridge.handle(message);
    if (fromBridge.handled) return fromBridge.value;
    const fromFlash = preferences.handle(message);
    if (fromFlash.handled) return fromFlash.value;
    if (message.op === "net.get") return net(String(message.what));
    throw new Error(`device ${deviceId}: unknown host call "${message.op}"`);
  };
}

export class DeviceRunner {
  readonly spec: DeviceSpec;
  readonly preferences: PreferenceStore;
  readonly #options: DeviceRunnerOptions;
  #worker: XsWorker | undefined;
  #bridge: TcpBridge | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #running = false;
  #loop: Promise<void> | undefined;
  #bootId = 0;
  /** the error that stopped the loop, if any (the simulator's, not the firmware's) */
  error: Error | undefined;
  /** uncaught firmware exceptions, each of which restarted the device */
  readonly faults: { bootId: number; message: string; atMs: number }[] = [];
  #restarting: Promise<void> | undefined;

  private constructor(options: DeviceRunnerOptions) {
    this.#options = options;
    this.spec = options.spec;
    this.preferences = options.preferences ?? new PreferenceStore();
  }

  static async start(options: DeviceRunnerOptions): Promise<DeviceRunner> {
    const runner = new DeviceRunner(options);
    await runner.#boot();
    return runner;
  }

  get bootId(): number {
    return this.#bootId;
  }

  get bridge(): TcpBridge | undefined {
    return this.#bridge;
  }

  /** counters from inside the firmware */
  async stats(): Promise<DeviceStats | undefined> {
    if (!this.#worker) return undefined;
    const faults = this.faults.length;
    try {
      return (await this.#call<DeviceStats | null>("stats")) ?? undefined;
    } catch (error) {
      // the device restarted under the call (a fault in the same turn): it has no stats to give now
      if (this.faults.length > faults || this.#restarting) return undefined;
      throw error;
    }
  }

  /**
   * Makes the firmware throw an exception nothing catches, from its next timer callback; answers
   * what its RAM ring held then (what the restart that follows loses).
   */
  async injectFault(reason = "injected fault"): Promise<FaultSnapshot> {
    return this.#call<FaultSnapshot>("inject-fault", { reason });
  }

  /** power cut and boot again with the same flash (preference store) */
  async reboot(): Promise<void> {
    await this.#powerOff();
    await this.#boot();
  }

  async stop(): Promise<void> {
    await this.#powerOff();
  }

  async #boot(): Promise<void> {
    const spec = this.spec;
    const bridge = new TcpBridge(spec.socket);
    const worker = await startXsWorker({
      name: `vw-${spec.deviceId}`,
      onHostCall: deviceHostCalls(spec.deviceId, bridge, this.preferences, (what) => this.#net(what)),
    });
    this.#worker = worker;
    this.#bridge = bridge;
    this.#queue = Promise.resolve();
    this.error = undefined;
    await worker.evaluate(await bundleFirmware(DEVICE_ENTRY));
    const boot: BootOptions = { ...spec, epochMs: Date.now(), seed: (Date.now() ^ (++bootCounter * 0x9e3779b1)) >>> 0 };
    const reply = await this.#call<{ bootId: number }>("boot", { options: boot });
    this.#bootId = reply.bootId;
    this.#running = true;
    this.#loop = this.#drive(worker, bridge);
  }

  async #powerOff(): Promise<void> {
    await this.#restarting;
    this.#running = false;
    await this.#loop;
    this.#loop = undefined;
    const worker = this.#worker;
    const bridge = this.#bridge;
    this.#worker = undefined;
    this.#bridge = undefined;
    await worker?.terminate().catch(() => undefined);
    await bridge?.dispose();
  }

  #call<T>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    const worker = this.#worker;
    if (!worker) return Promise.reject(new Error("device is off"));
    const next = this.#queue.then(async () => (await worker.call<T>(op, args)).value);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #drive(worker: XsWorker, bridge: TcpBridge): Promise<void> {
    const speed = this.#options.speed ?? 1;
    const stepMs = this.#options.stepMs ?? 50;
    const startedAt = performance.now();
    let virtualMs = 0;
    try {
      while (this.#running && this.#worker === worker) {
        const events = bridge.takeEvents();
        if (events.length > 0) await this.#call("tcp.events", { events });
        await this.#call("advance", { ms: stepMs });
        virtualMs += stepMs;
        // pace virtual time; wake at least every 100 ms to notice stop() and MQTT events
        let aheadMs = virtualMs / speed - (performance.now() - startedAt);
        if (aheadMs <= 0) await new Promise((resolve) => setImmediate(resolve));
        while (aheadMs > 0 && this.#running && bridge.pendingEvents === 0) {
          await new Promise((resolve) => setTimeout(resolve, Math.min(aheadMs, 100)));
          aheadMs = virtualMs / speed - (performance.now() - startedAt);
        }
      }
    } catch (error) {
      if (!this.#running || this.#worker !== worker) return;
      if (error instanceof FirmwareError) {
        this.faults.push({ bootId: this.#bootId, message: error.message, atMs: Date.now() });
        this.#restarting = this.#restartAfterFault(worker, bridge).finally(() => (this.#restarting = undefined));
        return;
      }
      this.error = error as Error;
      this.#running = false;
    }
  }

  /** the ESP32's answer to an uncaught exception: a restart, as a power cut (flash kept) */
  async #restartAfterFault(worker: XsWorker, bridge: TcpBridge): Promise<void> {
    this.#running = false;
    this.#worker = undefined;
    this.#bridge = undefined;
    await worker.terminate().catch(() => undefined);
    await bridge.dispose();
    try {
      await this.#boot();
    } catch (error) {
      this.error = error as Error;
    }
  }

  #net(what: string): string | number | string[] {
    switch (what) {
      case "RSSI":
        return Math.round((this.spec.rssiDbm ?? -60) + (Math.random() - 0.5) * 6);
      case "SSID":
        return "vibewatch-sim";
      case "IP":
        return "127.0.0.1";
      case "DNS":
        return ["127.0.0.53"];
      default:
        return "";
    }
  }
}
