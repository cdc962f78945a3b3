// STAND-IN for the gateway's OTA distributor (gateway/ota/), for the device-side tests only: it
// answers the devices' chunk requests from the real Mosquitto over MQTT.js and publishes retained
// offers, and it injects faults the real gateway never produces on purpose: wrong bytes at an
// offset, chunks withheld (requests ignored), "busy" replies. The good-release test also runs against
// the real distributor (test/ota/ota-distributor-install.test.ts).
import mqtt, { type MqttClient } from "mqtt";
import { decodeCborValue } from "../../../protocol/cbor-decoder.js";
import { encodeCbor } from "../../../protocol/cbor-encoder.js";
import { otaFilter, otaTopic, parseOtaTopic, type OtaChunkRequest } from "../../../protocol/ota.js";

export interface StandInFaults {
  /** requests for which this answers true are served with one byte flipped (wrong bytes) */
  corrupt?: (device: string, offset: number) => boolean;
  /** requests for which this answers true are ignored (a withheld chunk) */
  withhold?: (device: string, offset: number) => boolean;
  /** answer "busy, ask again in w ms" to the first n requests of each device */
  busyFirst?: number;
}

export class ChunkServerStandIn {
  readonly #client: MqttClient;
  readonly #site: string;
  readonly #images = new Map<string, Uint8Array>();
  readonly #busy = new Map<string, number>();
  faults: StandInFaults = {};
  /** requests seen, per device */
  readonly requests = new Map<string, number>();
  /** bytes served, per device */
  readonly servedBytes = new Map<string, number>();
  /** chunks served with wrong bytes */
  corrupted = 0;
  /** offsets requested, per device, in order (resume checks) */
  readonly offsets = new Map<string, number[]>();

  private constructor(client: MqttClient, site: string) {
    this.#client = client;
    this.#site = site;
    client.on("message", (topic, payload) => this.#onRequest(topic, new Uint8Array(payload)));
  }

  static async start(brokerUrl: string, site: string): Promise<ChunkServerStandIn> {
    const client = await mqtt.connectAsync(brokerUrl, { clientId: `stand-in-${site}-${process.pid}`, clean: true, reconnectPeriod: 300, connectTimeout: 2000 });
    const server = new ChunkServerStandIn(client, site);
    await client.subscribeAsync(otaFilter("otareq", site), { qos: 0 });
    return server;
  }

  /** serves `image` for release `rv` */
  serve(rv: string, image: Uint8Array): void {
    this.#images.set(rv, image);
  }

  async offer(device: string, offer: Uint8Array): Promise<void> {
    await this.#client.publishAsync(otaTopic(this.#site, device, "ota"), Buffer.from(offer), { qos: 1, retain: true });
  }

  async withdraw(device: string): Promise<void> {
    await this.#client.publishAsync(otaTopic(this.#site, device, "ota"), Buffer.alloc(0), { qos: 1, retain: true });
  }

  #onRequest(topic: string, payload: Uint8Array): void {
    const parsed = parseOtaTopic(topic);
    if (!parsed || parsed.kind !== "otareq") return;
    let request: OtaChunkRequest;
    try {
      request = decodeCborValue(payload) as unknown as OtaChunkRequest;
    } catch {
      return;
    }
    const device = parsed.device;
    this.requests.set(device, (this.requests.get(device) ?? 0) + 1);
    const offsets = this.offsets.get(device) ?? [];
    offsets.push(request.o);
    this.offsets.set(device, offsets);
    if (this.faults.withhold?.(device, request.o)) return;
    const reply = (body: Record<string, unknown>) =>
      this.#client.publish(otaTopic(this.#site, device, "otadata"), Buffer.from(encodeCbor({ v: 1, rv: request.rv, o: request.o, ...body } as never, 2048)), { qos: 0 });
    const busy = this.#busy.get(device) ?? 0;
    if (busy < (this.faults.busyFirst ?? 0)) {
      this.#busy.set(device, busy + 1);
      reply({ w: 200 });
      return;
    }
    const image = this.#images.get(request.rv);
    if (!image) {
      reply({ e: `no release ${request.rv}` });
      return;
    }
    if (request.o < 0 || request.n < 1 || request.o + request.n > image.length) {
      reply({ e: "bad range" });
      return;
    }
    const chunk = image.slice(request.o, request.o + request.n);
    if (this.faults.corrupt?.(device, request.o)) {
      chunk[0] = chunk[0]! ^ 0x01;
      this.corrupted++;
    }
    this.servedBytes.set(device, (this.servedBytes.get(device) ?? 0) + chunk.length);
    reply({ c: chunk });
  }

  async stop(): Promise<void> {
    await this.#client.endAsync(true);
  }
}
