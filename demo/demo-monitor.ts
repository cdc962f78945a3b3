// Watches the site broker as a local dashboard would: latest zone per device, alerts, and how
// long an alert takes from the device to the gateway's local alert topic. The device's publish
// time is when this subscriber sees the alert on the device topic (within a millisecond on
// loopback), not the alert's own timestamp: a simulated device clock can run behind real time.
import mqtt, { type MqttClient } from "mqtt";
import { deviceFilter, parseDeviceTopic } from "../protocol/topics.js";
import { decodeCbor } from "../protocol/schema/validate.js";
import { ZONE_LETTERS } from "../protocol/messages.js";

export interface MonitorSnapshot {
  zones: Record<string, string>;
  deviceAlerts: number;
  localAlerts: number;
  alertLatencyMs: number[];
}

export class DemoMonitor {
  readonly #client: MqttClient;
  readonly #zones = new Map<string, string>();
  /** device/boot/seq of each device alert -> when it was seen on the device topic */
  readonly #alertSeenAt = new Map<string, number>();
  readonly alertLatencyMs: number[] = [];
  deviceAlerts = 0;
  localAlerts = 0;

  private constructor(client: MqttClient) {
    this.#client = client;
  }

  static async start(brokerUrl: string, site: string, gatewayId: string): Promise<DemoMonitor> {
    const client = await mqtt.connectAsync(brokerUrl, { clientId: `vw-demo-monitor-${process.pid}`, clean: true, reconnectPeriod: 1000 });
    const monitor = new DemoMonitor(client);
    const localAlertTopic = `vw/v1/${site}/_gw/${gatewayId}/alert`;
    client.on("message", (topic, payload) => monitor.#onMessage(topic, payload, localAlertTopic));
    await client.subscribeAsync([deviceFilter("tele", site), deviceFilter("alert", site), localAlertTopic], { qos: 0 });
    return monitor;
  }

  #onMessage(topic: string, payload: Buffer, localAlertTopic: string): void {
    let value: Record<string, unknown>;
    try {
      value = decodeCbor(new Uint8Array(payload), 64 * 1024) as Record<string, unknown>;
    } catch {
      return; // the gateway quarantines bad messages; the monitor only watches
    }
    const key = `${String(value.d)}/${String(value.b)}/${String(value.s)}`;
    if (topic === localAlertTopic) {
      // the gateway republishes the device's alert bytes as they came
      this.localAlerts++;
      const seenAt = this.#alertSeenAt.get(key);
      if (seenAt !== undefined) {
        this.alertLatencyMs.push(Date.now() - seenAt);
        this.#alertSeenAt.delete(key);
      }
      return;
    }
    const parsed = parseDeviceTopic(topic);
    if (!parsed) return;
    if (parsed.kind === "tele" && typeof value.z === "number") this.#zones.set(parsed.device, ZONE_LETTERS[value.z] ?? "?");
    if (parsed.kind === "alert") {
      this.deviceAlerts++;
      if (!this.#alertSeenAt.has(key)) this.#alertSeenAt.set(key, Date.now());
    }
  }

  snapshot(): MonitorSnapshot {
    return { zones: Object.fromEntries(this.#zones), deviceAlerts: this.deviceAlerts, localAlerts: this.localAlerts, alertLatencyMs: [...this.alertLatencyMs] };
  }

  async stop(): Promise<void> {
    await this.#client.endAsync(true);
  }
}

export function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? null;
}
