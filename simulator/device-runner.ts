// One simulated device: the firmware bundle (simulator/xs-entries/device-entry.ts) in its own XS
// worker, its sockets (real TCP connections: the firmware's own MQTT client talks to the real
// broker through them), its preference store, and the loop that drives its virtual time. The loop
// alternates "deliver the sockets' events" and "advance virtual time by stepMs", pacing virtual
// time at `speed` x real time (as fast as XS can when it cannot keep up).
// Every call into the worker goes through one queue: XS runs one command at a time.
// reboot() is a power cut: the worker dies (no DISCONNECT: the broker publishes the Will), a new
// worker boots with the same preference store, as flash outlives a reset.
// App flash (simulator/flash-store.ts): the worker evaluates the image in the slot the simulated
// bootloader picks (slot 0 starts with the firmware bundle); after an OTA switch, a roll-back or a
// restart the firmware asked for, a fresh worker boots from the slot the boot record names. A boot
// that fails (the image throws while it loads or boots) is a panic and a reset: a pending image is
// then rolled back by the bootloader; a confirmed one that keeps failing is a bricked device
// (`error` says so: the OTA tests assert it never happens).
// An exception the firmware does not catch (in a timer or socket callback) does what it does on an
// ESP32 (fxAbort -> esp_restart): the device restarts the same way, losing its RAM ring, with a
// new boot id; the fault is recorded in `faults`. Only a failure of the simulator itself (the
// worker process gone) stops the loop and sets `error`.
import { bundleFirmware } from "./bundle-firmware.js";
import { FirmwareError, startXsWorker, type XsWorker } from "./xs-worker.js";
import { TcpBridge, type SocketSettings } from "./tcp-bridge.js";
import { PreferenceStore } from "./preference-store.js";
import { FlashStore, type SlotIndex } from "./flash-store.js";
import { CryptHost } from "./crypt-host.js";
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
  /** the version the running image was built as */
  firmwareVersion: string;
  /** the OTA agent's state (null on a boot without OTA) */
  ota: { slot: 0 | 1; state: string; target?: string; progressBytes?: number; error?: string; counters: Record<string, number>; download: Record<string, number> | null } | null;
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
  /** the device's app slots and boot record (default: slot 0 holds the firmware bundle) */
  flash?: FlashStore;
}

/** one boot of the device: which slot, why it booted */
export interface BootEntry {
  bootId: number;
  slot: SlotIndex;
  pending: boolean;
  /** what started it: power-on, reboot() (power cut), a restart or roll-back the firmware asked for, a fault */
  cause: "power-on" | "power-cut" | "restart" | "roll-back" | "fault" | "boot-failure";
  /** the bootloader rolled back from this slot at this boot */
  rolledBackFrom?: SlotIndex;
  /** virtual ms this boot has run (so far, or until it ended) */
  virtualMs: number;
  /**
   * the sequence number the boot would have used next when it asked for its restart (read by the
   * simulator after the firmware's last call: the loss audit's "how far the boot got")
   */
  endSequence?: number;
}

/** consecutive failed boots of a confirmed image after which the device counts as bricked */
const BRICKED_AFTER_FAILED_BOOTS = 3;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

let bootCounter = 0;

/** answers a simulated device's host calls: sockets through the bridge, flash from the preference store, Wi-Fi facts from `net` */
export function deviceHostCalls(
  deviceId: string, bridge: TcpBridge, preferences: PreferenceStore, net: (what: string) => string | number | string[],
  flash: FlashStore = new FlashStore(new Uint8Array(0)), crypt: CryptHost = new CryptHost(),
): (message: Record<string, unknown> & { op: string }) => unknown {
  return (message) => {
    const fromSlots = flash.handle(message);
    if (fromSlots.handled) return fromSlots.value;
    // after a simulated power cut nothing more reaches flash, NVS included
    if (flash.poweredOff && (message.op === "pref.set" || message.op === "pref.delete")) return undefined;
    const fromCrypt = crypt.handle(message);
    if (fromCrypt.handled) return fromCrypt.value;
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
  /** every boot, in order */
  readonly boots: BootEntry[] = [];
  #restarting: Promise<void> | undefined;
  #flash: FlashStore | undefined;
  #failedBoots = 0;

  private constructor(options: DeviceRunnerOptions) {
    this.#options = options;
    this.spec = options.spec;
    this.preferences = options.preferences ?? new PreferenceStore();
    this.#flash = options.flash;
  }

  static async start(options: DeviceRunnerOptions): Promise<DeviceRunner> {
    const runner = new DeviceRunner(options);
    runner.#flash ??= new FlashStore(utf8.encode(await bundleFirmware(DEVICE_ENTRY)));
    await runner.#boot("power-on");
    return runner;
  }

  /** the app slots and boot record (outlive reboots) */
  get flash(): FlashStore {
    return this.#flash!;
  }

  /** settles when no restart is under way (a restart the firmware asked for, or after a fault) */
  async settled(): Promise<void> {
    while (this.#restarting) await this.#restarting;
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
    await this.#boot("power-cut");
  }

  async stop(): Promise<void> {
    await this.#powerOff();
  }

  async #boot(cause: BootEntry["cause"]): Promise<void> {
    const spec = this.spec;
    const flash = this.flash;
    const choice = flash.boot();
    const bridge = new TcpBridge(spec.socket);
    const worker = await startXsWorker({
      name: `vw-${spec.deviceId}`,
      onHostCall: deviceHostCalls(spec.deviceId, bridge, this.preferences, (what) => this.#net(what), flash, new CryptHost()),
    });
    this.#worker = worker;
    this.#bridge = bridge;
    this.#queue = Promise.resolve();
    this.error = undefined;
    const entry: BootEntry = { bootId: 0, slot: choice.slot, pending: choice.pending, cause, virtualMs: 0, ...(choice.rolledBackFrom === undefined ? {} : { rolledBackFrom: choice.rolledBackFrom }) };
    this.boots.push(entry);
    try {
      await worker.evaluate(fromUtf8.decode(choice.image));
      const boot: BootOptions = { ...spec, epochMs: Date.now(), seed: (Date.now() ^ (++bootCounter * 0x9e3779b1)) >>> 0 };
      const reply = await this.#call<{ bootId: number }>("boot", { options: boot });
      entry.bootId = reply.bootId;
      this.#bootId = reply.bootId;
    } catch (error) {
      await worker.terminate().catch(() => undefined);
      await bridge.dispose();
      this.#worker = undefined;
      this.#bridge = undefined;
      const message = error instanceof Error ? error.message : String(error);
      const asked = flash.rebootRequested;
      if (!asked) this.faults.push({ bootId: 0, message: `boot from slot ${choice.slot}: ${message}`, atMs: Date.now() });
      // a pending image that fails is the bootloader's to roll back; the firmware may have asked for it
      if (asked || choice.pending) return this.#boot(asked === "roll-back" ? "roll-back" : asked === "power-cut" ? "power-cut" : asked ? "restart" : "boot-failure");
      if (cause === "power-on") throw error;
      if (++this.#failedBoots < BRICKED_AFTER_FAILED_BOOTS) return this.#boot("boot-failure");
      this.error = new Error(`device ${spec.deviceId} bricked: slot ${choice.slot} failed ${this.#failedBoots} boots in a row (${message})`);
      return;
    }
    this.#failedBoots = 0;
    this.#running = true;
    this.#loop = this.#drive(worker, bridge, entry);
    if (flash.rebootRequested) this.#restartOnRequest(worker, bridge);
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

  async #drive(worker: XsWorker, bridge: TcpBridge, entry: BootEntry): Promise<void> {
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
        entry.virtualMs = virtualMs;
        if (this.flash.rebootRequested) {
          this.#restartOnRequest(worker, bridge);
          return;
        }
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
      if (this.flash.rebootRequested) {
        this.#restartOnRequest(worker, bridge);
        return;
      }
      if (error instanceof FirmwareError) {
        this.faults.push({ bootId: this.#bootId, message: error.message, atMs: Date.now() });
        this.#restarting = this.#restartAfterFault(worker, bridge).finally(() => (this.#restarting = undefined));
        return;
      }
      this.error = error as Error;
      this.#running = false;
    }
  }

  /** the firmware asked for a restart (OTA switch) or a roll-back: a fresh worker from the slot the record names */
  #restartOnRequest(worker: XsWorker, bridge: TcpBridge): void {
    if (this.#restarting) return;
    const asked = this.flash.rebootRequested;
    const cause = asked === "roll-back" ? "roll-back" : asked === "power-cut" ? "power-cut" : "restart";
    const entry = this.boots.at(-1);
    const ending = entry && cause !== "power-cut"
      ? this.#call<{ nextSequence: number } | null>("stats").then((stats) => {
        if (stats) entry.endSequence = stats.nextSequence;
      }, () => undefined)
      : Promise.resolve();
    this.#restarting = ending.then(() => this.#restartAfterFault(worker, bridge, cause)).finally(() => (this.#restarting = undefined));
  }

  /** the ESP32's answer to an uncaught exception: a restart, as a power cut (flash kept) */
  async #restartAfterFault(worker: XsWorker, bridge: TcpBridge, cause: BootEntry["cause"] = "fault"): Promise<void> {
    this.#running = false;
    this.#worker = undefined;
    this.#bridge = undefined;
    await worker.terminate().catch(() => undefined);
    await bridge.dispose();
    try {
      await this.#boot(cause);
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
