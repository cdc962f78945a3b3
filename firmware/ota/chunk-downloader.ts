// Downloads one release image into the inactive slot, chunk by chunk, from the site gateway
// (protocol/ota.ts: otareq -> otadata, QoS 0 both ways).
//
// Behaviour:
// - At most `window` requests outstanding; replies are written in offset order (a reply ahead of
//   the next offset waits in a small map; one behind it is a duplicate and is ignored). Every byte
//   is written as it arrives: the image is never held in RAM.
// - Flash: sectors are erased ahead of the writes, eraseBatchSectors at a time, when a write first
//   reaches a sector not erased yet; a download resumed at a sector-aligned checkpoint erases again
//   from there, so it rewrites exactly what it erases.
// - A request unanswered within timeoutMs is asked again, the timeout doubling up to maxTimeoutMs;
//   progress resets it. "w" (gateway busy) waits w ms. No progress for stallMs fails the download.
// - Low priority: nothing is requested while the session is down or the store-and-forward ring has
//   messages waiting (canSend() false), so telemetry and alerts always go first. After a broker
//   outage the download goes on from the next unwritten offset.
// - Erase batches are spaced at least eraseIntervalMs apart: on the ESP32 a sector erase stalls the
//   CPU for ~45 ms (longer than the sensor FIFO's 10 ms), so a stall costs the sampler one window
//   whether it erases one sector or eight (8 x 45 ms stays under a 640 ms window): batching makes
//   that one lost window per 32 KB, spacing bounds the rate (and the download's speed).
// - Checkpoint every checkpointBytes (sector-aligned): after a power cut the agent resumes there.
import { CborEncoder } from "../../protocol/cbor-encoder.js";
import { decodeCborValue, OTA_DECODE_LIMITS } from "../../protocol/cbor-decoder.js";
import type { OtaChunkReply } from "../../protocol/ota.js";
import type { SessionScheduler } from "../net/mqtt-session.js";
import type { SlotFlash } from "./ota-platform.js";

export interface ChunkDownloaderOptions {
  deviceId: string;
  bootId: number;
  rv: string;
  sizeBytes: number;
  chunkBytes: number;
  /** first offset to fetch (a checkpoint, sector-aligned; 0 for a fresh download) */
  startOffset: number;
  slot: SlotFlash;
  scheduler: SessionScheduler;
  nowMs: () => number;
  /** publishes a request (QoS 0); false when it cannot go now */
  send(topicPayload: Uint8Array): boolean;
  /** false while requests must wait (session down, ring has messages waiting) */
  canSend(): boolean;
  onCheckpoint(offset: number): void;
  onProgress(offset: number): void;
  onComplete(): void;
  onFailed(reason: string): void;
  window?: number;
  timeoutMs?: number;
  maxTimeoutMs?: number;
  stallMs?: number;
  checkpointBytes?: number;
  tickMs?: number;
  /** least time between two erase batches, ms (0: no spacing) */
  eraseIntervalMs?: number;
  /** sectors erased at once */
  eraseBatchSectors?: number;
}

/** consecutive "e" replies after which the download fails */
const MAX_GATEWAY_ERRORS = 3;

export class ChunkDownloader {
  readonly #o: Required<ChunkDownloaderOptions>;
  readonly #encoder = new CborEncoder(128);
  readonly #outstanding = new Map<number, number>(); // offset -> deadline, ms
  readonly #held = new Map<number, Uint8Array>();
  #next: number;
  #timeoutMs: number;
  #busyUntilMs = 0;
  #lastProgressMs: number;
  #lastCheckpoint: number;
  #gatewayErrors = 0;
  /** no request that needs an erase before this (ms) */
  #nextEraseAtMs = 0;
  /** sectors [0, #erasedTo) of this download's range are erased (or written) */
  #erasedTo: number;
  #timer: unknown;
  #done = false;
  /** counters for this download */
  readonly counters = { requests: 0, timeouts: 0, busy: 0, duplicates: 0, gatewayErrors: 0, paused: 0 };

  constructor(options: ChunkDownloaderOptions) {
    this.#o = { window: 2, timeoutMs: 2000, maxTimeoutMs: 30_000, stallMs: 600_000, checkpointBytes: 65_536, tickMs: 100, eraseIntervalMs: 1000, eraseBatchSectors: 8, ...options };
    this.#erasedTo = Math.floor(options.startOffset / options.slot.blockSize);
    this.#next = options.startOffset;
    this.#lastCheckpoint = options.startOffset;
    this.#timeoutMs = this.#o.timeoutMs;
    this.#lastProgressMs = options.nowMs();
  }

  /** bytes written so far */
  get offset(): number {
    return this.#next;
  }

  start(): void {
    this.#timer = this.#o.scheduler.set(() => this.#tick(), 0);
  }

  stop(): void {
    this.#done = true;
    if (this.#timer !== undefined) this.#o.scheduler.clear(this.#timer);
    this.#timer = undefined;
  }

  /** an otadata message */
  receive(bytes: Uint8Array): void {
    if (this.#done) return;
    let reply: OtaChunkReply;
    try {
      reply = decodeCborValue(bytes, OTA_DECODE_LIMITS) as unknown as OtaChunkReply;
    } catch {
      return; // not for us to act on; the request times out and is asked again
    }
    if (reply === null || typeof reply !== "object" || reply.v !== 1 || reply.rv !== this.#o.rv || typeof reply.o !== "number") return;
    const now = this.#o.nowMs();
    if (typeof reply.w === "number") {
      this.counters.busy++;
      this.#busyUntilMs = now + Math.min(Math.max(reply.w, 0), 60_000);
      this.#outstanding.clear();
      return;
    }
    if (typeof reply.e === "string") {
      this.counters.gatewayErrors++;
      this.#outstanding.delete(reply.o);
      if (++this.#gatewayErrors >= MAX_GATEWAY_ERRORS) this.#fail(`gateway: ${reply.e.slice(0, 40)}`);
      else this.#busyUntilMs = now + this.#timeoutMs;
      return;
    }
    const chunk = reply.c;
    if (!(chunk instanceof Uint8Array) || chunk.length === 0) return;
    this.#outstanding.delete(reply.o);
    if (reply.o < this.#next || this.#held.has(reply.o)) {
      this.counters.duplicates++;
      return;
    }
    if (reply.o + chunk.length > this.#o.sizeBytes) return; // beyond the image: a bad range, ignored
    if (reply.o > this.#next) {
      if (this.#held.size < this.#o.window) this.#held.set(reply.o, chunk.slice());
      return;
    }
    this.#gatewayErrors = 0;
    if (!this.#write(chunk)) return;
    for (let held = this.#held.get(this.#next); held; held = this.#held.get(this.#next)) {
      this.#held.delete(this.#next);
      if (!this.#write(held)) return;
    }
    if (this.#next >= this.#o.sizeBytes) {
      this.stop();
      this.#o.onComplete();
      return;
    }
    this.#fill(now);
  }

  /** writes the chunk at #next; false when flash refused (the download failed) */
  #write(chunk: Uint8Array): boolean {
    const o = this.#o;
    const start = this.#next;
    const end = start + chunk.length;
    try {
      const block = o.slot.blockSize;
      const lastSector = Math.floor((end - 1) / block);
      if (lastSector >= this.#erasedTo) {
        const imageSectors = Math.ceil(o.sizeBytes / block);
        const to = Math.min(Math.max(lastSector + 1, this.#erasedTo + o.eraseBatchSectors), imageSectors);
        for (let sector = this.#erasedTo; sector < to; sector++) o.slot.erase(sector);
        this.#erasedTo = to;
      }
      o.slot.write(start, chunk);
    } catch (error) {
      this.#fail(`flash write: ${(error as Error).message}`);
      return false;
    }
    this.#next = end;
    this.#lastProgressMs = o.nowMs();
    this.#timeoutMs = o.timeoutMs;
    const aligned = end - (end % o.slot.blockSize);
    if (aligned - this.#lastCheckpoint >= o.checkpointBytes) {
      this.#lastCheckpoint = aligned;
      o.onCheckpoint(aligned);
    }
    o.onProgress(end);
    return true;
  }

  #tick(): void {
    this.#timer = undefined;
    if (this.#done) return;
    const now = this.#o.nowMs();
    if (now - this.#lastProgressMs > this.#o.stallMs) {
      this.#fail(`no progress for ${Math.round(this.#o.stallMs / 1000)} s`);
      return;
    }
    let expired = false;
    for (const [offset, deadline] of this.#outstanding) {
      if (now < deadline) continue;
      this.#outstanding.delete(offset);
      this.counters.timeouts++;
      expired = true;
    }
    if (expired) this.#timeoutMs = Math.min(this.#timeoutMs * 2, this.#o.maxTimeoutMs);
    this.#fill(now);
    if (!this.#done) this.#timer = this.#o.scheduler.set(() => this.#tick(), this.#o.tickMs);
  }

  #fill(now: number): void {
    const o = this.#o;
    if (now < this.#busyUntilMs) return;
    if (!o.canSend()) {
      this.counters.paused++;
      return;
    }
    for (let i = 0, offset = this.#next; i < o.window && offset < o.sizeBytes; i++, offset += o.chunkBytes) {
      if (this.#outstanding.has(offset) || this.#held.has(offset)) continue;
      const length = Math.min(o.chunkBytes, o.sizeBytes - offset);
      if (this.#needsErase(offset, length)) {
        if (now < this.#nextEraseAtMs) return;
        this.#nextEraseAtMs = now + o.eraseIntervalMs;
      }
      const e = this.#encoder.reset();
      e.map(6).text("v").int(1).text("d").text(o.deviceId).text("b").int(o.bootId).text("rv").text(o.rv).text("o").int(offset).text("n").int(length);
      if (!o.send(e.bytes())) return;
      this.#outstanding.set(offset, now + this.#timeoutMs);
      this.counters.requests++;
    }
  }

  /** the chunk [offset, offset + length) reaches a sector not erased yet (its write erases a batch) */
  #needsErase(offset: number, length: number): boolean {
    return Math.floor((offset + length - 1) / this.#o.slot.blockSize) >= this.#erasedTo;
  }

  #fail(reason: string): void {
    if (this.#done) return;
    this.stop();
    this.#o.onFailed(reason);
  }
}
