// Offers (issue 15, protocol/ota.ts): a retained OtaOffer on vw/v1/{site}/{device}/ota for each
// device named, QoS 1 (the broker has it before the call resolves); a withdrawal is the empty
// retained payload. The broker keeps the offers, so a gateway killed mid-distribution offers
// nothing again: it re-learns what is offered from the retained messages (observe()), and the
// devices simply go on asking for chunks.
import { encodeCbor } from "../../protocol/cbor-encoder.js";
import { decodeCborValue } from "../../protocol/cbor-decoder.js";
import { OTA_MAX_MANIFEST_BYTES, otaTopic, type OtaOffer } from "../../protocol/ota.js";
import { decodeManifest } from "./release-files.js";
import type { StoredRelease } from "./release-store.js";

export type RetainedPublish = (topic: string, payload: Uint8Array) => Promise<void>;

/** The offer's CBOR bytes: exactly what a device decodes. */
export function encodeOffer(release: Pick<StoredRelease, "manifestBytes" | "signature">, chunkBytes: number): Uint8Array {
  const offer: OtaOffer = { v: 1, m: release.manifestBytes, g: release.signature, cs: chunkBytes };
  return encodeCbor({ ...offer }, OTA_MAX_MANIFEST_BYTES + 256);
}

/** The release version an offer payload names; null for a withdrawal or an unreadable one. */
export function offeredVersion(payload: Uint8Array): string | null {
  if (payload.length === 0) return null;
  try {
    const value = decodeCborValue(payload, { maxBytes: 1024, maxDepth: 2, maxItems: 8, maxStringBytes: OTA_MAX_MANIFEST_BYTES }) as Record<string, unknown>;
    return value.m instanceof Uint8Array ? decodeManifest(value.m).rv : null;
  } catch {
    return null;
  }
}

export class OfferPublisher {
  /** device -> version offered now (what the broker retains, as far as we know) */
  readonly #offers = new Map<string, string>();

  constructor(
    private readonly site: string,
    private readonly chunkBytes: number,
    private readonly publish: RetainedPublish,
  ) {}

  offered(device: string): string | undefined {
    return this.#offers.get(device);
  }

  /** device -> version, every current offer */
  all(): Map<string, string> {
    return new Map(this.#offers);
  }

  /** A retained (or live) message seen on a device's …/ota topic. */
  observe(device: string, payload: Uint8Array): void {
    const version = offeredVersion(payload);
    if (version === null) this.#offers.delete(device);
    else this.#offers.set(device, version);
  }

  /** Publishes the offer to each device; resolves once the broker has them all. */
  async offer(release: StoredRelease, devices: readonly string[]): Promise<void> {
    const payload = encodeOffer(release, this.chunkBytes);
    await Promise.all(
      devices.map(async (device) => {
        await this.publish(otaTopic(this.site, device, "ota"), payload);
        this.#offers.set(device, release.manifest.rv);
      }),
    );
  }

  async withdraw(devices: readonly string[]): Promise<void> {
    await Promise.all(
      devices.map(async (device) => {
        await this.publish(otaTopic(this.site, device, "ota"), new Uint8Array(0));
        this.#offers.delete(device);
      }),
    );
  }
}
