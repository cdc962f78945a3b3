// Simulated devices for gateway tests: an MQTT.js client per test that publishes valid telemetry
// and alerts at QoS 1 (persistent session, so nothing is lost while the broker restarts) and
// records every sequence number the broker acknowledged.
import mqtt, { type MqttClient } from "mqtt";
import type { Alert, Telemetry } from "../../../protocol/messages.js";
import { deviceTopic } from "../../../protocol/topics.js";
import { cborEncoder } from "../../../protocol/schema/validate.js";
import { sampleAlert, sampleTelemetry } from "../../../protocol/examples.js";

export function telemetry(device: string, boot: number, seq: number): Telemetry {
  return { ...sampleTelemetry, d: device, b: boot, s: seq, t: 1764331200000 + seq };
}

export function alert(device: string, boot: number, seq: number): Alert {
  return { ...sampleAlert, d: device, b: boot, s: seq, t: 1764331200000 + seq };
}

export function encode(value: unknown): Buffer {
  return cborEncoder.encode(value) as Buffer;
}

export async function connectClient(url: string, clientId: string, options: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const client = mqtt.connect(url, { clientId, clean: false, reconnectPeriod: 200, ...options });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${clientId}: no connection to ${url}`)), 10_000);
    client.once("connect", () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return client;
}

export async function publishQos1(client: MqttClient, topic: string, payload: Uint8Array): Promise<void> {
  await client.publishAsync(topic, Buffer.from(payload), { qos: 1 });
}

/** Publishes telemetry for one device at a steady pace; the acked sequence numbers are kept. */
export class SteadyPublisher {
  readonly acked = new Set<number>();
  #running = false;
  #loop: Promise<void> = Promise.resolve();
  #next = 0;

  constructor(
    private readonly client: MqttClient,
    readonly site: string,
    readonly device: string,
    readonly boot: number,
    private readonly perTick = 10,
    private readonly tickMs = 20,
  ) {}

  get published(): number {
    return this.#next;
  }

  start(): void {
    this.#running = true;
    this.#loop = (async () => {
      const topic = deviceTopic(this.site, this.device, "tele");
      while (this.#running) {
        const sends: Array<Promise<void>> = [];
        for (let i = 0; i < this.perTick; i++) {
          const seq = this.#next++;
          sends.push(publishQos1(this.client, topic, encode(telemetry(this.device, this.boot, seq))).then(() => void this.acked.add(seq)));
        }
        await Promise.all([...sends, new Promise((r) => setTimeout(r, this.tickMs))]);
      }
    })();
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
  }
}

/** Polls `check` until it holds or `timeoutMs` passes; returns whether it held. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return await check();
}

/** Sequence numbers of one device's telemetry (or alerts) in the stand-in's store. */
export function storedSeqs(records: Array<{ k: string; d: string; p: unknown }>, device: string, kind = "tele"): number[] {
  return records.filter((record) => record.k === kind && record.d === device).map((record) => (record.p as { s: number }).s);
}
