// What each device should run: the entries that apply to it merged, site first, then its groups
// (in label order), then its own entry, a later one overriding a field of an earlier one. Its
// version (the config's cv) is the highest revision among them, so any change to any of them gives
// the device a higher cv than it holds. When every entry that applies has been unset, the device
// is sent the tombstone (back to build defaults) with that cv, not silence.
import { PAYLOAD_VERSION } from "../../../protocol/limits.js";
import { configReset, type DeviceConfig } from "../../../protocol/messages.js";
import type { ConfigFields, DesiredConfigEntry } from "./fleet-repository.js";

export interface DeviceIdentity {
  site: string;
  device: string;
  labels: readonly string[];
}

export function entriesFor(device: DeviceIdentity, entries: readonly DesiredConfigEntry[]): DesiredConfigEntry[] {
  const site = entries.filter((e) => e.scope.kind === "site" && e.scope.site === device.site);
  const groups = [...device.labels].sort().flatMap((label) => entries.filter((e) => e.scope.kind === "group" && e.scope.group === label));
  const own = entries.filter((e) => e.scope.kind === "device" && e.scope.site === device.site && e.scope.device === device.device);
  return [...site, ...groups, ...own];
}

/** The config to deliver to a device, or undefined when nothing was ever set for it. */
export function desiredConfig(device: DeviceIdentity, entries: readonly DesiredConfigEntry[]): DeviceConfig | undefined {
  const applying = entriesFor(device, entries);
  if (applying.length === 0) return undefined;
  const cv = Math.max(...applying.map((e) => e.revision));
  const fields: ConfigFields = {};
  for (const entry of applying) Object.assign(fields, entry.fields);
  if (Object.keys(fields).length === 0) return configReset(cv);
  return { ...(fields as Partial<DeviceConfig>), v: PAYLOAD_VERSION, cv };
}
