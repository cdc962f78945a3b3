// A simulated site: N devices (each the real firmware in its own XS worker) against one broker.
// Devices differ the way a real site does: machine running speed, imbalance and misalignment,
// bearing tone, a fault that grows on some machines, sensor part, Wi-Fi RSSI. The variety is
// deterministic (device i always gets the same machine) so runs are comparable.
import { isValidId } from "../protocol/topics.js";
import { DeviceRunner, type DeviceSpec, type DeviceStats } from "./device-runner.js";

const BOOT_CONCURRENCY = 4;
const MACHINE_KINDS = ["pump", "fan", "compressor", "motor", "gearbox", "blower"] as const;

export interface FleetOptions {
  devices: number;
  brokerUrl: string;
  siteId: string;
  /** virtual ms per real ms */
  speed?: number;
  /** ring bounds per device */
  ring?: { capacityMessages: number; capacityBytes: number };
  /** status heartbeat, s (build default of the simulated firmware) */
  heartbeatS?: number;
}

export interface FleetSnapshot {
  devices: number;
  connected: number;
  /** messages acknowledged by the broker since the last snapshot, per second of real time */
  messagesPerS: number;
  /** messages waiting in device rings */
  backlog: number;
  dropped: number;
  acknowledged: number;
  virtualS: number;
  errors: string[];
}

export interface DeviceSummary {
  device: string;
  part: string;
  runningSpeedHz: number;
  faultGrowthPerHour: number;
  bootId: number;
  telemetry: number;
  alerts: number;
  statuses: number;
  acknowledged: number;
  dropped: number;
  backlog: number;
  reconnects: number;
}

/** the i-th device of a site (0-based): deterministic variety */
export function fleetDeviceSpec(index: number, siteId: string, brokerUrl: string, options: Pick<FleetOptions, "ring" | "heartbeatS"> = {}): DeviceSpec {
  const url = new URL(brokerUrl);
  const kind = MACHINE_KINDS[index % MACHINE_KINDS.length]!;
  const deviceId = `${kind}-${String(index + 1).padStart(2, "0")}`;
  if (!isValidId(deviceId)) throw new Error(`fleet: device id ${deviceId} is not valid`);
  // golden-ratio steps spread the machines evenly without randomness
  const spread = (index * 0.6180339887) % 1;
  const runningSpeedHz = 12 + 38 * spread; // 720..3000 rpm
  return {
    deviceId,
    siteId,
    part: index % 3 === 2 ? "lis3dh" : "adxl345",
    machine: {
      runningSpeedHz,
      imbalanceMS2: 0.2 + 1.6 * spread,
      misalignmentMS2: 0.1 + 0.5 * ((index * 0.414) % 1),
      bearingToneHz: runningSpeedHz * 5.43,
      bearingMS2: 0.2 + 0.6 * ((index * 0.732) % 1),
      noiseMS2: 0.1 + 0.1 * ((index * 0.271) % 1),
      // every third machine has a fault growing fast enough to see in a demo
      faultGrowthPerHour: index % 3 === 1 ? 20 : 0,
      seed: 1000 + index,
    },
    broker: { host: url.hostname, port: Number(url.port || 1883) },
    ring: options.ring ?? { capacityMessages: 256, capacityBytes: 32 * 1024 },
    defaults: { heartbeatS: options.heartbeatS ?? 30 },
    rssiDbm: -45 - Math.round(35 * ((index * 0.318) % 1)),
  };
}

export class Fleet {
  readonly runners: DeviceRunner[] = [];
  #lastAcknowledged = 0;
  #lastAt = performance.now();

  private constructor() {}

  static async start(options: FleetOptions): Promise<Fleet> {
    if (!isValidId(options.siteId)) throw new Error(`fleet: site id "${options.siteId}" is not valid: want 1..24 of [a-z0-9-]`);
    const fleet = new Fleet();
    try {
      // boot a few at a time: a boot is mostly XS evaluating the bundle, which a 2-core host can overlap little
      for (let first = 0; first < options.devices; first += BOOT_CONCURRENCY) {
        const batch: Promise<DeviceRunner>[] = [];
        for (let i = first; i < Math.min(options.devices, first + BOOT_CONCURRENCY); i++) {
          const spec = fleetDeviceSpec(i, options.siteId, options.brokerUrl, options);
          batch.push(DeviceRunner.start({ spec, speed: options.speed ?? 1 }));
        }
        const settled = await Promise.allSettled(batch);
        for (const result of settled) if (result.status === "fulfilled") fleet.runners.push(result.value);
        const failed = settled.find((result) => result.status === "rejected");
        if (failed) throw (failed as PromiseRejectedResult).reason;
      }
    } catch (error) {
      await fleet.stop();
      throw error;
    }
    return fleet;
  }

  async #stats(): Promise<(DeviceStats | undefined)[]> {
    return Promise.all(this.runners.map((runner) => runner.stats().catch(() => undefined)));
  }

  async snapshot(): Promise<FleetSnapshot> {
    const stats = await this.#stats();
    const now = performance.now();
    let acknowledged = 0;
    const snapshot: FleetSnapshot = { devices: this.runners.length, connected: 0, messagesPerS: 0, backlog: 0, dropped: 0, acknowledged: 0, virtualS: 0, errors: [] };
    stats.forEach((s, i) => {
      const error = this.runners[i]!.error;
      if (error) snapshot.errors.push(`${this.runners[i]!.spec.deviceId}: ${error.message}`);
      if (!s) return;
      if (s.connected) snapshot.connected++;
      snapshot.backlog += s.ringDepth;
      snapshot.dropped += s.dropped;
      acknowledged += s.session.acknowledged;
      snapshot.virtualS = Math.max(snapshot.virtualS, s.virtualMs / 1000);
    });
    const elapsedS = (now - this.#lastAt) / 1000;
    snapshot.acknowledged = acknowledged;
    snapshot.messagesPerS = elapsedS > 0 ? Math.max(0, acknowledged - this.#lastAcknowledged) / elapsedS : 0;
    this.#lastAcknowledged = acknowledged;
    this.#lastAt = now;
    return snapshot;
  }

  async summary(): Promise<DeviceSummary[]> {
    const stats = await this.#stats();
    return this.runners.map((runner, i) => {
      const s = stats[i];
      return {
        device: runner.spec.deviceId,
        part: runner.spec.part,
        runningSpeedHz: Math.round(runner.spec.machine.runningSpeedHz * 10) / 10,
        faultGrowthPerHour: runner.spec.machine.faultGrowthPerHour,
        bootId: runner.bootId,
        telemetry: s?.app.telemetry ?? 0,
        alerts: s?.app.alerts ?? 0,
        statuses: s?.app.statuses ?? 0,
        acknowledged: s?.session.acknowledged ?? 0,
        dropped: s?.dropped ?? 0,
        backlog: s?.ringDepth ?? 0,
        reconnects: Math.max(0, (s?.session.connects ?? 0) - 1),
      };
    });
  }

  async stop(): Promise<void> {
    await Promise.all(this.runners.map((runner) => runner.stop().catch(() => undefined)));
  }
}
