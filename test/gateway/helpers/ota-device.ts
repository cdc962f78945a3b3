// The device's side of the OTA protocol (protocol/ota.ts), played by an MQTT.js client in gateway
// tests: it reads its retained offer, checks the signature like the firmware does, asks for the
// image chunk by chunk on …/otareq (QoS 0, one request at a time, resent after a timeout), obeys
// "busy" replies, and reports its state in status messages. Not the firmware: the firmware's agent
// (firmware/ota/) is tested in the simulator; this one exists to exercise the gateway.
import { createHash, verify } from "node:crypto";
import mqtt, { type MqttClient } from "mqtt";
import { decodeCborValue } from "../../../protocol/cbor-decoder.js";
import { encodeCbor } from "../../../protocol/cbor-encoder.js";
import { otaTopic, type OtaChunkReply, type OtaState, type ReleaseManifest } from "../../../protocol/ota.js";
import { deviceTopic } from "../../../protocol/topics.js";
import { sampleStatus } from "../../../protocol/examples.js";
import { cborEncoder } from "../../../protocol/schema/validate.js";
import type { Status } from "../../../protocol/messages.js";

export interface Offer {
  manifest: ReleaseManifest;
  manifestBytes: Uint8Array;
  signature: Uint8Array;
  chunkBytes: number;
}

const REPLY_LIMITS = { maxBytes: 2048, maxDepth: 2, maxItems: 8, maxStringBytes: 1024 };

export class OtaTestDevice {
  readonly client: MqttClient;
  readonly boot = Math.floor(Math.random() * 0xffffffff);
  #seq = 0;
  #offer: Offer | null | undefined;
  #offerWaiters: Array<() => void> = [];
  #replyWaiter: ((reply: OtaChunkReply) => void) | undefined;
  /** every reply received, in order */
  readonly replies: OtaChunkReply[] = [];
  busyReplies = 0;
  /** wall-clock ms of the first chunk received and of the "done" status (the device's view of its slot) */
  firstChunkAtMs: number | undefined;
  doneAtMs: number | undefined;
  requests = 0;
  /** bytes of the current download received so far */
  progressBytes = 0;

  private constructor(
    readonly url: string,
    readonly site: string,
    readonly device: string,
  ) {
    this.client = mqtt.connect(url, { clientId: `dev-${device}-${this.boot}`, clean: true, reconnectPeriod: 200, protocolVersion: 5 });
    this.client.on("message", (topic, payload) => this.#onMessage(topic, new Uint8Array(payload)));
  }

  static async connect(url: string, site: string, device: string): Promise<OtaTestDevice> {
    const d = new OtaTestDevice(url, site, device);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${device}: no connection`)), 10_000);
      d.client.once("connect", () => {
        clearTimeout(timer);
        resolve();
      });
    });
    await d.client.subscribeAsync([otaTopic(site, device, "ota"), otaTopic(site, device, "otadata")], { qos: 0 });
    return d;
  }

  #onMessage(topic: string, payload: Uint8Array): void {
    if (topic.endsWith("/ota")) {
      if (payload.length === 0) this.#offer = null;
      else {
        const value = decodeCborValue(payload, REPLY_LIMITS) as Record<string, unknown>;
        const manifestBytes = value.m as Uint8Array;
        this.#offer = {
          manifest: decodeCborValue(manifestBytes, { maxBytes: 256, maxDepth: 2, maxItems: 8, maxStringBytes: 96 }) as unknown as ReleaseManifest,
          manifestBytes,
          signature: value.g as Uint8Array,
          chunkBytes: value.cs as number,
        };
      }
      for (const wake of this.#offerWaiters.splice(0)) wake();
      return;
    }
    const reply = decodeCborValue(payload, REPLY_LIMITS) as unknown as OtaChunkReply;
    this.replies.push(reply);
    this.#replyWaiter?.(reply);
  }

  get offer(): Offer | null | undefined {
    return this.#offer;
  }

  /** Resolves with the offer once one is retained for this device. */
  async waitForOffer(timeoutMs = 10_000): Promise<Offer> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#offer) {
      if (Date.now() > deadline) throw new Error(`${this.device}: no offer within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.#offerWaiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
    return this.#offer;
  }

  /** What the firmware checks before it downloads a byte. */
  signatureValid(offer: Offer, publicKeyPem: string): boolean {
    return verify("sha256", offer.manifestBytes, { key: publicKeyPem, dsaEncoding: "ieee-p1363" }, offer.signature);
  }

  /** One request; resolves with the reply matching (rv, o), or null after timeoutMs. */
  async request(body: Record<string, unknown>, timeoutMs = 1000, topicDevice = this.device): Promise<OtaChunkReply | null> {
    this.requests++;
    const reply = new Promise<OtaChunkReply | null>((resolve) => {
      const timer = setTimeout(() => {
        this.#replyWaiter = undefined;
        resolve(null);
      }, timeoutMs);
      this.#replyWaiter = (r) => {
        if (r.o !== (body.o ?? 0) && r.e === undefined) return; // a late reply to an older request
        clearTimeout(timer);
        this.#replyWaiter = undefined;
        resolve(r);
      };
    });
    await this.client.publishAsync(otaTopic(this.site, topicDevice, "otareq"), Buffer.from(encodeCbor({ ...body } as never)), { qos: 0 });
    return await reply;
  }

  /**
   * Downloads the whole image of the offer: chunk after chunk, waiting when told to, resending a
   * request that got no reply. Returns the image; throws on an `e` reply.
   */
  async download(offer: Offer, options: { replyTimeoutMs?: number; deadlineMs?: number; reportProgress?: boolean } = {}): Promise<Uint8Array> {
    const size = offer.manifest.sz;
    const image = new Uint8Array(size);
    let offset = 0;
    const deadline = Date.now() + (options.deadlineMs ?? 60_000);
    if (options.reportProgress) await this.status("downloading", offer.manifest.rv, 0);
    while (offset < size) {
      if (Date.now() > deadline) throw new Error(`${this.device}: download of ${offer.manifest.rv} stalled at ${offset}/${size}`);
      const n = Math.min(offer.chunkBytes, size - offset);
      const reply = await this.request({ v: 1, d: this.device, b: this.boot, rv: offer.manifest.rv, o: offset, n }, options.replyTimeoutMs ?? 1000);
      if (reply === null) continue; // lost (or the gateway is away): ask again
      if (reply.e !== undefined) throw new Error(`${this.device}: gateway error at ${offset}: ${reply.e}`);
      if (reply.w !== undefined) {
        this.busyReplies++;
        await new Promise((r) => setTimeout(r, reply.w));
        continue;
      }
      const chunk = reply.c as Uint8Array;
      if (this.firstChunkAtMs === undefined) this.firstChunkAtMs = Date.now();
      image.set(chunk, offset);
      offset += chunk.length;
      this.progressBytes = offset;
    }
    return image;
  }

  /** Publishes a status (retained, QoS 1) with the OTA fields. */
  async status(os: OtaState, ot?: string, op?: number, oe?: string, fw = "0.2.0"): Promise<void> {
    const status: Status = { ...sampleStatus, d: this.device, b: this.boot, s: this.#seq++, t: 0, fw, sl: 0, os, ...(ot ? { ot } : {}), ...(op !== undefined ? { op } : {}), ...(oe ? { oe } : {}) };
    if (os !== "downloading" && this.firstChunkAtMs !== undefined && this.doneAtMs === undefined) this.doneAtMs = Date.now();
    await this.client.publishAsync(deviceTopic(this.site, this.device, "status"), cborEncoder.encode(status) as Buffer, { qos: 1, retain: true });
  }

  async close(): Promise<void> {
    await this.client.endAsync(true).catch(() => undefined);
  }
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}
