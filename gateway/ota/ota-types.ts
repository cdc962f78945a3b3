// The distributor's limits (defaults: the gateway's `ota` config section mirrors them) and the
// shape of /ota/status, shared by the distributor, the HTTP endpoints and `vibewatch ota status`.
import { OTA_DEFAULT_CHUNK_BYTES, type OtaState } from "../../protocol/ota.js";
import { MAX_IMAGE_BYTES } from "./release-files.js";

export interface OtaLimits {
  /** bytes per chunk the gateway offers (cs), <= OTA_MAX_CHUNK_BYTES */
  chunkBytes: number;
  /** devices downloading at once at this site */
  maxConcurrentDownloads: number;
  /** a slot whose device has not asked for this long is freed, ms */
  slotIdleTimeoutMs: number;
  /** a device's sustained byte rate, bytes/s */
  deviceBytesPerS: number;
  /** a device's burst: bytes it may have in flight at once */
  deviceBurstBytes: number;
  /** the wait a device without a slot is told (w), ms, plus up to half of it as jitter */
  busyRetryMs: number;
  maxStoredReleases: number;
  maxImageBytes: number;
  fetchTimeoutMs: number;
  /** offers must be acknowledged by the broker within this, ms */
  publishTimeoutMs: number;
  /** devices whose state is tracked */
  maxDevices: number;
}

export const DEFAULT_OTA_LIMITS: OtaLimits = {
  chunkBytes: OTA_DEFAULT_CHUNK_BYTES,
  maxConcurrentDownloads: 4,
  slotIdleTimeoutMs: 30_000,
  deviceBytesPerS: 32 * 1024,
  deviceBurstBytes: 4 * 1024,
  busyRetryMs: 2000,
  maxStoredReleases: 8,
  maxImageBytes: MAX_IMAGE_BYTES,
  fetchTimeoutMs: 60_000,
  publishTimeoutMs: 10_000,
  maxDevices: 10_000,
};

export interface OtaDeviceReport {
  device: string;
  online: boolean;
  running?: string;
  slot?: 0 | 1;
  state?: OtaState;
  target?: string;
  progressBytes?: number;
  /** the target's size, when the gateway has that release */
  sizeBytes?: number;
  error?: string;
  offered?: string;
  /** holds one of the site's download slots now */
  downloading: boolean;
  lastSeen?: string;
}

export interface OtaStatusReport {
  site: string;
  slots: { held: number; max: number };
  releases: Array<{ version: string; sizeBytes: number; board: string; minVersion: string; buildId: string }>;
  devices: OtaDeviceReport[];
}
