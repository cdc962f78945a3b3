// Shared by the firmware-net tests: device specs, and a recorder that subscribes to every device
// topic of a site (persistent session, QoS 1, so it misses nothing across a broker restart) and
// keeps each message decoded and validated by the protocol's own decoder.
import mqtt, { type MqttClient } from "mqtt";
import { decodeDeviceMessage, type DeviceMessage } from "../../protocol/schema/validate.js";
import { parseDeviceTopic } from "../../protocol/topics.js";
import type { DeviceSpec } from "../../simulator/device-runner.js";
import type { Status } from "../../protocol/messages.js";

export interface Received {
  topic: string;
  device: string;
  message: DeviceMessage;
  bytes: number;
  retain: boolean;
}

export function deviceSpec(deviceId: string, brokerPort: number, overrides: Partial<DeviceSpec> = {}): DeviceSpec {
  return {
    deviceId,
    siteId: "plant-1",
    part: "adxl345",
    machine: { runningSpeedHz: 24.75, imbalanceMS2: 0.45, misalignmentMS2: 0.3, bearingToneHz: 162, bearingMS2: 0.4, noiseMS2: 0.15, faultGrowthPerHour: 0, seed: 11 },
    broker: { host: "127.0.0.1", port: brokerPort },
    ring: { capacityMessages: 256, capacityBytes: 32 * 1024 },
    defaults: { heartbeatS: 5 },
    backoff: { initialMs: 500, maxMs: 4000 },
    ...overrides,
  };
}

export class Recorder {
  readonly received: Received[] = [];
  readonly invalid: { topic: string; error: string }[] = [];
  readonly #client: MqttClient;

  private constructor(client: MqttClient) {
    this.#client = client;
    client.on("message", (topic, payload, packet) => {
      const parsed = parseDeviceTopic(topic);
      if (!parsed || parsed.kind === "cfg") return;
      try {
        const message = decodeDeviceMessage(parsed.kind, new Uint8Array(payload), parsed.device);
        this.received.push({ topic, device: parsed.device, message, bytes: payload.length, retain: packet.retain });
      } catch (error) {
        this.invalid.push({ topic, error: (error as Error).message });
      }
    });
  }

  static async start(brokerUrl: string, clientId: string): Promise<Recorder> {
    const client = await mqtt.connectAsync(brokerUrl, { clientId, clean: false, reconnectPeriod: 300, connectTimeout: 2000 });
    await client.subscribeAsync("vw/v1/+/+/+", { qos: 1 });
    return new Recorder(client);
  }

  /** messages of one device and kind, in arrival order (retained replays excluded) */
  of(device: string, kind: DeviceMessage["kind"]): DeviceMessage["payload"][] {
    return this.received.filter((r) => r.device === device && r.message.kind === kind && !r.retain).map((r) => r.message.payload);
  }

  statuses(device: string): Status[] {
    return this.of(device, "status") as Status[];
  }

  async stop(): Promise<void> {
    await this.#client.endAsync(true);
  }
}

/** polls `check` until it returns a value (not undefined/false) or the deadline passes */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
