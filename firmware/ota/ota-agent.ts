// The device's OTA agent (issue 15). One release at a time:
//
//   offer (retained …/ota) -> checks (offer-check.ts: signature, board, floor, version, size)
//     -> download into the inactive slot (chunk-downloader.ts; resumable, low priority)
//     -> verify (SHA-256 of the slot read back from flash, against the signed manifest)
//     -> switch (boot record: next boot from the new slot, pending) -> ring drained -> restart
//   new image, booted pending -> self-test (self-test.ts) -> confirm (mark valid, raise the floor)
//                                                         -> or roll back (reason kept in flash)
//   previous image, booted again -> reports "rolledback" with the new image's reason, or
//                                   "boot failed" when it never got as far as writing one.
//
// Power cuts: the bootloader's record switches atomically (nothing half-switched); the download
// resumes from its last checkpoint; a cut after verify but before the switch re-verifies and
// switches (the checkpoint then says "complete"); a cut after confirm's mark-valid finishes the
// confirm at the next boot. A release that failed or was rolled back on this device is not tried
// again (the retained offer would loop it): only another version is.
// State, target version, progress and reason go out in the status message (sl, os, ot, op, oe).
import { OTA_REASONS, compareVersions, otaTopic, type OtaState, type ReleaseManifest } from "../../protocol/ota.js";
import type { PreferenceStore } from "../config/device-config.js";
import type { SessionScheduler } from "../net/mqtt-session.js";
import { BootState, type PendingMarker } from "./boot-state.js";
import { ChunkDownloader } from "./chunk-downloader.js";
import { checkOffer, decodeOffer, toHex } from "./offer-check.js";
import type { OtaPlatform, SlotFlash } from "./ota-platform.js";
import { SelfTest } from "./self-test.js";

export interface OtaTransport {
  connected(): boolean;
  /** messages in the store-and-forward ring, waiting or in flight */
  ringDepth(): number;
  /** messages in the ring not yet sent */
  ringWaiting(): number;
  /** QoS 0, outside the ring; false when it cannot go now */
  publish(topic: string, payload: Uint8Array): boolean;
}

export interface OtaAgentOptions {
  deviceId: string;
  siteId: string;
  bootId: number;
  firmwareVersion: string;
  /** the board this build runs on (manifest "bd") */
  board: string;
  platform: OtaPlatform;
  preferences: PreferenceStore;
  scheduler: SessionScheduler;
  nowMs: () => number;
  transport: OtaTransport;
  /** the reported OTA state changed: publish a status */
  onChange: () => void;
  selfTestDeadlineMs?: number;
  /** progress is reported at most this often */
  progressIntervalMs?: number;
  /** before a restart the agent waits this long at most for the ring to drain */
  drainTimeoutMs?: number;
  /** largest chunk the device asks for (fits maxInboundBytes with the reply's overhead) */
  maxChunkBytes?: number;
}

export interface OtaStatus {
  slot: 0 | 1;
  state: OtaState;
  target?: string;
  progressBytes?: number;
  error?: string;
}

/** bytes hashed per timer turn while verifying (keeps each turn short) */
const VERIFY_BYTES_PER_TURN = 16_384;
const VERIFY_READ_BYTES = 4096;

/**
 * For a boot that fails before the agent exists (e.g. the sensor's constructor threw): a pending
 * image rolls back with the reason; answers false when the image is not pending (nothing to undo).
 */
export function rollBackPendingBoot(platform: OtaPlatform, preferences: PreferenceStore, reason: string): boolean {
  if (!platform.boot.running().pending) return false;
  new BootState(preferences).why = reason.slice(0, 60);
  platform.boot.rollBack();
  return true;
}

export class OtaAgent {
  readonly #o: Required<OtaAgentOptions>;
  readonly #state: BootState;
  readonly #topics: { ota: string; otareq: string; otadata: string };
  #slot: 0 | 1 = 0;
  #os: OtaState = "idle";
  #target: string | undefined;
  #progress: number | undefined;
  #error: string | undefined;
  #selfTest: SelfTest | undefined;
  #sensor: { ok: boolean; detail?: string } | undefined;
  #download: { manifest: ReleaseManifest; downloader: ChunkDownloader | undefined; slot: SlotFlash } | undefined;
  #lastProgressReportMs = -Infinity;
  #restartTimer: unknown;
  /** counters since boot */
  readonly counters = { offers: 0, refused: 0, downloads: 0, verified: 0, hashFailures: 0, confirmed: 0, rollbacks: 0 };

  constructor(options: OtaAgentOptions) {
    this.#o = { selfTestDeadlineMs: 120_000, progressIntervalMs: 5000, drainTimeoutMs: 30_000, maxChunkBytes: 512, ...options };
    this.#state = new BootState(options.preferences);
    const { siteId, deviceId } = options;
    this.#topics = { ota: otaTopic(siteId, deviceId, "ota"), otareq: otaTopic(siteId, deviceId, "otareq"), otadata: otaTopic(siteId, deviceId, "otadata") };
  }

  /** the topics the session subscribes for the agent */
  get subscriptions(): string[] {
    return [this.#topics.ota, this.#topics.otadata];
  }

  get state(): OtaState {
    return this.#os;
  }

  status(): OtaStatus {
    const out: OtaStatus = { slot: this.#slot, state: this.#os };
    if (this.#target !== undefined) out.target = this.#target;
    if (this.#progress !== undefined) out.progressBytes = this.#progress;
    if (this.#error !== undefined) out.error = this.#error;
    return out;
  }

  /** bytes downloaded so far in this boot's download (diagnostics) */
  get downloadCounters(): ChunkDownloader["counters"] | undefined {
    return this.#download?.downloader?.counters;
  }

  start(): void {
    const running = this.#o.platform.boot.running();
    this.#slot = running.slot;
    const marker = this.#state.pending;
    const checkpoint = this.#state.checkpoint;
    if (marker && marker.slot === running.slot) {
      if (checkpoint) this.#state.checkpoint = undefined;
      if (running.pending) this.#startSelfTest(marker);
      else this.#confirmed(marker); // a power cut came between mark-valid and the end of the confirm
      return;
    }
    if (marker) {
      this.#state.pending = undefined;
      if (checkpoint && checkpoint.rv === marker.rv) {
        // verified but never switched (a power cut before the switch): the retained offer resumes it
        this.#show("idle");
        return;
      }
      const why = this.#state.why ?? OTA_REASONS.bootFailed;
      this.#state.why = undefined;
      this.counters.rollbacks++;
      this.#settle("rolledback", marker.rv, why);
      return;
    }
    if (running.pending) {
      // switched, but the marker did not reach flash: test the image all the same
      this.#startSelfTest({ rv: this.#o.firmwareVersion, slot: running.slot, mn: "0.0.0" });
      return;
    }
    const outcome = this.#state.outcome;
    if (outcome) this.#show(outcome.state, outcome.rv, outcome.reason || undefined);
  }

  /** the sensor's identity read at boot (its constructor checks WHO_AM_I) */
  sensorIdentified(ok: boolean, detail?: string): void {
    this.#sensor = detail === undefined ? { ok } : { ok, detail };
    this.#selfTest?.sensorIdentified(ok, detail);
  }

  onConnected(): void {
    this.#selfTest?.mqttUp();
  }

  onTelemetryAcknowledged(): void {
    this.#selfTest?.telemetryAcknowledged();
  }

  /** a message on one of `subscriptions`; false when the topic is not the agent's */
  onMessage(topic: string, bytes: Uint8Array): boolean {
    if (topic === this.#topics.otadata) {
      this.#download?.downloader?.receive(bytes);
      return true;
    }
    if (topic !== this.#topics.ota) return false;
    this.#onOffer(bytes);
    return true;
  }

  #onOffer(bytes: Uint8Array): void {
    if (this.#os === "pending" || this.#os === "verifying" || this.#restartTimer !== undefined) return;
    if (bytes.length === 0) {
      if (this.#download) {
        this.#abandon();
        this.#state.checkpoint = undefined;
        this.#show("idle");
      }
      return;
    }
    this.counters.offers++;
    const offer = decodeOffer(bytes);
    if (typeof offer === "string") {
      this.#refuse("", `${OTA_REASONS.badManifest}: ${offer}`);
      return;
    }
    const check = checkOffer(offer, {
      board: this.#o.board,
      runningVersion: this.#o.firmwareVersion,
      floor: this.#state.floor,
      slotBytes: this.#slotBytes(),
      verifySignature: (message, signature) => this.#o.platform.verifySignature(message, signature),
    });
    if (!check.ok) {
      // the retained offer of the release already running is no news
      if (check.reason === OTA_REASONS.sameVersion) return;
      if (this.#download) return; // a bad offer does not stop a good download
      this.#refuse(check.rv ?? "", check.reason);
      return;
    }
    const manifest = check.manifest;
    if (this.#download && this.#download.manifest.rv === manifest.rv) return; // re-delivered on reconnect
    const outcome = this.#state.outcome;
    if (outcome && outcome.rv === manifest.rv && (outcome.state === "rolledback" || outcome.state === "failed")) return;
    if (this.#download) this.#abandon();
    this.#startDownload(manifest, Math.min(offer.cs, this.#o.maxChunkBytes));
  }

  #slotBytes(): number {
    try {
      return this.#o.platform.openNextSlot().byteLength;
    } catch {
      return 0;
    }
  }

  #startDownload(manifest: ReleaseManifest, chunkBytes: number): void {
    const o = this.#o;
    const hashHex = toHex(manifest.h);
    const checkpoint = this.#state.checkpoint;
    const startOffset = checkpoint && checkpoint.rv === manifest.rv && checkpoint.hashHex === hashHex ? Math.min(checkpoint.offset, manifest.sz) : 0;
    let slot: SlotFlash;
    try {
      slot = o.platform.openNextSlot();
    } catch (error) {
      this.#settle("failed", manifest.rv, `${OTA_REASONS.flashWrite}: ${(error as Error).message}`);
      return;
    }
    this.counters.downloads++;
    this.#download = { manifest, downloader: undefined, slot };
    this.#show("downloading", manifest.rv, undefined, startOffset);
    if (startOffset >= manifest.sz) {
      this.#verify();
      return;
    }
    const downloader = new ChunkDownloader({
      deviceId: o.deviceId,
      bootId: o.bootId,
      rv: manifest.rv,
      sizeBytes: manifest.sz,
      chunkBytes,
      startOffset,
      slot,
      scheduler: o.scheduler,
      nowMs: o.nowMs,
      send: (payload) => o.transport.publish(this.#topics.otareq, payload),
      canSend: () => o.transport.connected() && o.transport.ringWaiting() === 0,
      onCheckpoint: (offset) => (this.#state.checkpoint = { rv: manifest.rv, hashHex, offset }),
      onProgress: (offset) => this.#onProgress(offset),
      onComplete: () => this.#verify(),
      onFailed: (reason) => this.#failDownload(reason),
    });
    this.#download.downloader = downloader;
    downloader.start();
  }

  #onProgress(offset: number): void {
    this.#progress = offset;
    const now = this.#o.nowMs();
    if (now - this.#lastProgressReportMs < this.#o.progressIntervalMs) return;
    this.#lastProgressReportMs = now;
    this.#o.onChange();
  }

  #failDownload(reason: string): void {
    const rv = this.#download?.manifest.rv ?? "";
    this.#download = undefined;
    this.#state.checkpoint = undefined;
    const text = reason.startsWith(OTA_REASONS.flashWrite) ? reason : `${OTA_REASONS.downloadStalled}: ${reason}`;
    this.#settle("failed", rv, text);
  }

  #abandon(): void {
    this.#download?.downloader?.stop();
    this.#download = undefined;
  }

  /** reads the slot back from flash and hashes it, a few KB per timer turn */
  #verify(): void {
    const download = this.#download;
    if (!download) return;
    const { manifest, slot } = download;
    this.#show("verifying", manifest.rv, undefined, manifest.sz);
    const digest = this.#o.platform.sha256();
    let offset = 0;
    const step = (): void => {
      if (this.#download !== download) return;
      try {
        for (let turn = 0; turn < VERIFY_BYTES_PER_TURN && offset < manifest.sz; turn += VERIFY_READ_BYTES) {
          const length = Math.min(VERIFY_READ_BYTES, manifest.sz - offset);
          digest.write(slot.read(offset, length));
          offset += length;
        }
      } catch (error) {
        this.#failDownload(`${OTA_REASONS.flashWrite}: read back: ${(error as Error).message}`);
        return;
      }
      if (offset < manifest.sz) {
        this.#o.scheduler.set(step, 0);
        return;
      }
      this.#verified(download.manifest, new Uint8Array(digest.close()));
    };
    this.#o.scheduler.set(step, 0);
  }

  #verified(manifest: ReleaseManifest, hash: Uint8Array): void {
    this.#download = undefined;
    if (toHex(hash) !== toHex(manifest.h)) {
      this.counters.hashFailures++;
      this.#state.checkpoint = undefined;
      this.#settle("failed", manifest.rv, OTA_REASONS.badHash);
      return;
    }
    this.counters.verified++;
    const hashHex = toHex(manifest.h);
    // "complete" first: a cut before the switch below then re-verifies and switches at next boot
    this.#state.checkpoint = { rv: manifest.rv, hashHex, offset: manifest.sz };
    this.#state.pending = { rv: manifest.rv, slot: this.#slot === 0 ? 1 : 0, mn: manifest.mn };
    this.#state.why = undefined;
    try {
      this.#o.platform.boot.activateNext();
    } catch (error) {
      this.#state.pending = undefined;
      this.#state.checkpoint = undefined;
      this.#settle("failed", manifest.rv, `${OTA_REASONS.flashWrite}: switch: ${(error as Error).message}`);
      return;
    }
    this.#state.checkpoint = undefined;
    this.#restartWhenDrained(this.#o.nowMs());
  }

  /** restarts once every message in the ring is acknowledged (the RAM ring does not survive it) */
  #restartWhenDrained(sinceMs: number): void {
    const o = this.#o;
    if (o.transport.ringDepth() === 0 || o.nowMs() - sinceMs >= o.drainTimeoutMs) {
      this.#restartTimer = undefined;
      o.platform.boot.restart();
      return;
    }
    this.#restartTimer = o.scheduler.set(() => this.#restartWhenDrained(sinceMs), 100);
  }

  #startSelfTest(marker: PendingMarker): void {
    this.#show("pending", marker.rv);
    this.#selfTest = new SelfTest({
      deadlineMs: this.#o.selfTestDeadlineMs,
      scheduler: this.#o.scheduler,
      onPassed: () => this.#confirm(marker),
      onFailed: (reason) => this.#rollBack(reason),
    });
    this.#selfTest.start();
    if (this.#sensor) this.#selfTest.sensorIdentified(this.#sensor.ok, this.#sensor.detail);
  }

  #confirm(marker: PendingMarker): void {
    try {
      this.#o.platform.boot.markValid();
    } catch (error) {
      // still pending: the bootloader rolls it back at the next reset; say so now
      this.#show("pending", marker.rv, `${OTA_REASONS.flashWrite}: confirm: ${(error as Error).message}`);
      return;
    }
    this.#confirmed(marker);
  }

  /** the boot record says valid: raise the floor, forget the marker, report */
  #confirmed(marker: PendingMarker): void {
    if (compareVersions(marker.mn, this.#state.floor) > 0) this.#state.floor = marker.mn;
    this.#state.pending = undefined;
    this.counters.confirmed++;
    this.#settle("confirmed", marker.rv, "");
  }

  #rollBack(reason: string): void {
    this.#state.why = reason.slice(0, 60);
    this.#show("rolledback", this.#target, reason);
    try {
      this.#o.platform.boot.rollBack(); // does not return on the device
    } catch (error) {
      this.#show("pending", this.#target, `${reason}; roll back: ${(error as Error).message}`);
    }
  }

  #refuse(rv: string, reason: string): void {
    this.counters.refused++;
    this.#settle("refused", rv, reason);
  }

  /** a final outcome: kept in flash (reported after reboots too) and published */
  #settle(state: OtaState, rv: string, reason: string): void {
    this.#state.outcome = { state, rv, reason };
    this.#show(state, rv || undefined, reason || undefined);
  }

  #show(state: OtaState, target?: string, error?: string, progressBytes?: number): void {
    this.#os = state;
    this.#target = target;
    this.#error = error?.slice(0, 64);
    this.#progress = progressBytes;
    this.#lastProgressReportMs = this.#o.nowMs();
    this.#o.onChange();
  }
}
