// MQTT topic names of the wire contract. Runs under XS (device) and Node (gateway): no Node APIs.
//
//   vw/v1/{site}/{device}/tele     telemetry, QoS 1
//   vw/v1/{site}/{device}/alert    device alerts, QoS 1
//   vw/v1/{site}/{device}/status   retained status; also the Last Will (offline)
//   vw/v1/{site}/{device}/cfg      retained configuration, gateway/cloud -> device
//   vw/v1/{site}/_gw/{gateway}/alert   alerts the gateway republishes locally (siren, PLC, HMI)
//   vw/v1/{site}/_gw/{gateway}/event   gateway events: device offline/online, rate limited
//
// Ids are lower-case [a-z0-9-], 1..24 characters, so "_gw" can never collide with a device id
// and ids never contain MQTT wildcards or separators.

export const TOPIC_ROOT = "vw/v1";
export const GATEWAY_SEGMENT = "_gw";
export const ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,23}$/;
export const ID_MAX_LENGTH = 24;

export type DeviceTopicKind = "tele" | "alert" | "status" | "cfg";
export const DEVICE_TOPIC_KINDS: readonly DeviceTopicKind[] = ["tele", "alert", "status", "cfg"];

export function isValidId(id: string): boolean {
  return ID_PATTERN.test(id);
}

function checkId(what: string, id: string): void {
  if (!isValidId(id)) throw new Error(`invalid ${what} id "${id}": want 1..24 of [a-z0-9-], starting with a letter or digit`);
}

export function deviceTopic(site: string, device: string, kind: DeviceTopicKind): string {
  checkId("site", site);
  checkId("device", device);
  return `${TOPIC_ROOT}/${site}/${device}/${kind}`;
}

export function gatewayTopic(site: string, gateway: string, kind: "alert" | "event"): string {
  checkId("site", site);
  checkId("gateway", gateway);
  return `${TOPIC_ROOT}/${site}/${GATEWAY_SEGMENT}/${gateway}/${kind}`;
}

/** Subscription filter for one kind of device topic, for one site or ("+") all sites. */
export function deviceFilter(kind: DeviceTopicKind, site = "+"): string {
  if (site !== "+") checkId("site", site);
  return `${TOPIC_ROOT}/${site}/+/${kind}`;
}

export interface ParsedDeviceTopic {
  site: string;
  device: string;
  kind: DeviceTopicKind;
}

/** Parses a device topic; returns null for anything that is not exactly one. */
export function parseDeviceTopic(topic: string): ParsedDeviceTopic | null {
  const parts = topic.split("/");
  if (parts.length !== 5 || parts[0] !== "vw" || parts[1] !== "v1") return null;
  const site = parts[2] as string;
  const device = parts[3] as string;
  const kind = parts[4] as DeviceTopicKind;
  if (!isValidId(site) || !isValidId(device)) return null;
  if (!DEVICE_TOPIC_KINDS.includes(kind)) return null;
  return { site, device, kind };
}
