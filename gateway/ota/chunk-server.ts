// Answers one chunk request (…/otareq) with one reply (…/otadata), protocol/ota.ts:
//   c  the bytes [o, o + n) of release rv, when the request is good and the device may have them;
//   w  "busy, ask again in w ms": the site's download slots are taken, or the device's byte budget
//      is spent (download-slots.ts); never an error, the device only waits;
//   e  the request cannot be served, with the reason: undecodable or malformed, a device id that
//      is not the topic's, a release the gateway does not have, n above the offer's chunk size,
//      a range outside the image. Counted by reason; a bad request never costs anyone else a chunk.
// The reply goes to the topic's device (the broker's ACL lets only that device publish there).
import { encodeCbor } from "../../protocol/cbor-encoder.js";
import { decodeCborValue } from "../../protocol/cbor-decoder.js";
import type { OtaChunkReply } from "../../protocol/ota.js";
import type { DownloadSlots } from "./download-slots.js";
import type { BadRequestReason, OtaMetrics } from "./ota-metrics.js";

/** Largest request payload read (a request is ~40 bytes). */
export const MAX_REQUEST_BYTES = 128;
const REQUEST_LIMITS = { maxBytes: MAX_REQUEST_BYTES, maxDepth: 1, maxItems: 8, maxStringBytes: 32 };

export interface ReleaseImages {
  /** the image of a stored release, or undefined */
  image(version: string): Uint8Array | undefined;
}

export interface ChunkOutcome {
  reply: OtaChunkReply;
  payload: Uint8Array;
  kind: "chunk" | "busy" | "error";
  reason?: BadRequestReason;
}

const isCount = (value: unknown): value is number => typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 0xffffffff;

export class ChunkServer {
  constructor(
    private readonly chunkBytes: number,
    private readonly releases: ReleaseImages,
    private readonly slots: DownloadSlots,
    private readonly metrics: OtaMetrics,
    private readonly now: () => number = Date.now,
  ) {}

  /** The reply to `payload`, received on the otareq topic of `topicDevice`. */
  handle(topicDevice: string, payload: Uint8Array): ChunkOutcome {
    let request: Record<string, unknown>;
    try {
      if (payload.length > MAX_REQUEST_BYTES) throw new Error(`request is ${payload.length} bytes, at most ${MAX_REQUEST_BYTES}`);
      const value = decodeCborValue(payload, REQUEST_LIMITS);
      if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Uint8Array) throw new Error("not a CBOR map");
      request = value as Record<string, unknown>;
    } catch (error) {
      return this.#error("malformed", "", 0, `bad request: ${(error as Error).message}`);
    }
    const rv = typeof request.rv === "string" ? request.rv : "";
    const o = isCount(request.o) ? request.o : 0;
    if (request.v !== 1) return this.#error("malformed", rv, o, `bad request: v must be 1, got ${JSON.stringify(request.v)}`);
    if (typeof request.d !== "string") return this.#error("malformed", rv, o, "bad request: d (device id) missing");
    if (!isCount(request.b)) return this.#error("malformed", rv, o, "bad request: b (boot id) must be a uint32");
    if (typeof request.rv !== "string") return this.#error("malformed", rv, o, "bad request: rv (release version) missing");
    if (!isCount(request.o) || !isCount(request.n)) return this.#error("malformed", rv, o, "bad request: o and n must be non-negative integers");
    if (request.d !== topicDevice) return this.#error("device_mismatch", rv, o, `device mismatch: request names "${request.d}" on the topic of "${topicDevice}"`);
    const image = this.releases.image(rv);
    if (!image) return this.#error("unknown_release", rv, o, `no release ${rv}`);
    const n = request.n;
    if (n > this.chunkBytes) return this.#error("too_large", rv, o, `chunk too large: n ${n} above the offer's cs ${this.chunkBytes}`);
    if (n < 1 || o + n > image.length) return this.#error("bad_range", rv, o, `bad range: [${o}, ${o + n}) outside the image's ${image.length} bytes`);
    const admission = this.slots.admit(topicDevice, request.b, n, this.now());
    this.metrics.downloading.set(this.slots.held);
    if (!admission.ok) {
      this.metrics.busyReplies.inc({ cause: admission.cause });
      const reply: OtaChunkReply = { v: 1, rv, o, w: admission.retryAfterMs };
      return { reply, payload: encodeCbor({ ...reply }, 128), kind: "busy" };
    }
    const c = image.subarray(o, o + n);
    this.metrics.chunksServed.inc();
    this.metrics.bytesServed.inc(n);
    const reply: OtaChunkReply = { v: 1, rv, o, c };
    return { reply, payload: encodeCbor({ ...reply }, n + 96), kind: "chunk" };
  }

  #error(reason: BadRequestReason, rv: string, o: number, e: string): ChunkOutcome {
    this.metrics.badRequests.inc({ reason });
    // rv and o echo the request where it had them, so the device can match the reply
    const reply: OtaChunkReply = { v: 1, rv: rv.slice(0, 24), o, e };
    return { reply, payload: encodeCbor({ ...reply }, 256), kind: "error", reason };
  }
}
