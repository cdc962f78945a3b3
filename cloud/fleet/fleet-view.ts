// The fleet as operators see it: each device's inventory row with its desired configuration
// version and drift (desired set, and the version the device reports in force differs from it).
import type { DeviceRecord, FleetRepository } from "./storage/fleet-repository.js";
import { desiredConfig } from "./storage/desired-config.js";
import type { DeviceConfig } from "../../protocol/messages.js";

export interface DeviceView extends DeviceRecord {
  /** cv of the config the fleet wants this device to run; null when nothing was set for it */
  cfgDesired: number | null;
  drift: boolean;
}

export class FleetView {
  constructor(readonly repo: FleetRepository, readonly offlineAfterMs: number, readonly now: () => number = Date.now) {}

  async devices(filter: { site?: string } = {}): Promise<DeviceView[]> {
    const [devices, entries] = await Promise.all([this.repo.listDevices(filter), this.repo.listDesiredConfigs(filter)]);
    const now = this.now();
    return devices.map((d) => {
      const desired = desiredConfig(d, entries);
      const online = d.online && d.seenMs !== undefined && now - d.seenMs <= this.offlineAfterMs;
      const cfgDesired = desired?.cv ?? null;
      return { ...d, online, cfgDesired, drift: cfgDesired !== null && d.cfgVersion !== cfgDesired };
    });
  }

  /** every config a site's gateway should hold retained: its inventory's devices and devices named by device entries */
  async siteConfigs(site: string): Promise<{ device: string; config: DeviceConfig }[]> {
    const [devices, entries] = await Promise.all([this.repo.listDevices({ site }), this.repo.listDesiredConfigs({ site })]);
    const known = new Map(devices.map((d) => [d.device, d]));
    for (const e of entries) {
      if (e.scope.kind === "device" && !known.has(e.scope.device)) known.set(e.scope.device, { site, device: e.scope.device, labels: [], online: false });
    }
    const out: { device: string; config: DeviceConfig }[] = [];
    for (const d of known.values()) {
      const config = desiredConfig(d, entries);
      if (config) out.push({ device: d.device, config });
    }
    return out.sort((a, b) => a.device.localeCompare(b.device));
  }
}
