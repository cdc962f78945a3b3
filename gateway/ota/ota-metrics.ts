// The OTA distributor's Prometheus metrics, registered on the registry it is given (the gateway's,
// so they appear in its /metrics; a registry of their own when the distributor runs alone in a
// test). Every labelled series exists at 0 from the start (alerting rules see 0, not nothing).
import { Counter, Gauge, Registry } from "prom-client";
import { OTA_REASONS } from "../../protocol/ota.js";

/** Why a chunk request was answered with `e`. */
export const BAD_REQUEST_REASONS = ["malformed", "device_mismatch", "unknown_release", "bad_range", "too_large"] as const;
export type BadRequestReason = (typeof BAD_REQUEST_REASONS)[number];

/** The reason label of an outcome: the key of OTA_REASONS whose text starts the device's `oe`, else "other". */
export type OutcomeReason = keyof typeof OTA_REASONS | "other";
export const OUTCOME_REASONS: readonly OutcomeReason[] = [...(Object.keys(OTA_REASONS) as Array<keyof typeof OTA_REASONS>), "other"];

export function outcomeReason(error: string | undefined): OutcomeReason {
  if (error === undefined) return "other";
  for (const [key, text] of Object.entries(OTA_REASONS)) if (error === text || error.startsWith(`${text}: `)) return key as OutcomeReason;
  return "other";
}

/** Why a release was not stored. */
export const RELEASE_REFUSAL_PROBLEMS = ["missing file", "bad signature", "bad manifest", "wrong size", "bad hash", "bad key", "conflict", "store full", "fetch failed"] as const;

export class OtaMetrics {
  readonly offered: Counter;
  readonly withdrawn: Counter;
  readonly downloading: Gauge;
  readonly chunksServed: Counter;
  readonly bytesServed: Counter;
  readonly busyReplies: Counter;
  readonly badRequests: Counter;
  readonly installed: Counter;
  readonly confirmed: Counter;
  readonly rolledBack: Counter;
  readonly refused: Counter;
  readonly failed: Counter;
  readonly releaseFetches: Counter;
  readonly releasesRefused: Counter;
  readonly releasesStored: Gauge;
  readonly slotsReleasedIdle: Counter;

  constructor(readonly registry: Registry = new Registry()) {
    const registers = [registry];
    this.offered = new Counter({ name: "vw_gateway_ota_offered_total", help: "offers published (retained on …/ota), one per device", registers });
    this.withdrawn = new Counter({ name: "vw_gateway_ota_withdrawn_total", help: "offers withdrawn (empty retained …/ota), one per device", registers });
    this.downloading = new Gauge({ name: "vw_gateway_ota_downloading", help: "devices holding a download slot now (at most ota.maxConcurrentDownloads)", registers });
    this.chunksServed = new Counter({ name: "vw_gateway_ota_chunks_served_total", help: "image chunks sent on …/otadata", registers });
    this.bytesServed = new Counter({ name: "vw_gateway_ota_bytes_served_total", help: "image bytes sent on …/otadata", registers });
    this.busyReplies = new Counter({
      name: "vw_gateway_ota_busy_replies_total",
      help: "requests answered with w (retry later), by cause: slots (site concurrency limit) or rate (the device's byte budget)",
      labelNames: ["cause"],
      registers,
    });
    this.badRequests = new Counter({ name: "vw_gateway_ota_bad_requests_total", help: "chunk requests answered with e, by reason", labelNames: ["reason"], registers });
    this.installed = new Counter({ name: "vw_gateway_ota_installed_total", help: "devices that booted a new image (status state pending)", registers });
    this.confirmed = new Counter({ name: "vw_gateway_ota_confirmed_total", help: "devices whose new image passed its self-test (status state confirmed)", registers });
    this.rolledBack = new Counter({ name: "vw_gateway_ota_rolled_back_total", help: "devices back on their previous image, by reason (status oe)", labelNames: ["reason"], registers });
    this.refused = new Counter({ name: "vw_gateway_ota_refused_total", help: "offers refused by devices before download, by reason (status oe)", labelNames: ["reason"], registers });
    this.failed = new Counter({ name: "vw_gateway_ota_failed_total", help: "downloads or verifications that failed on devices, by reason (status oe)", labelNames: ["reason"], registers });
    this.releaseFetches = new Counter({ name: "vw_gateway_ota_release_fetches_total", help: "release downloads from a URL, by outcome", labelNames: ["outcome"], registers });
    this.releasesRefused = new Counter({ name: "vw_gateway_ota_releases_refused_total", help: "releases not stored, by problem (signature, hash, size, ...)", labelNames: ["problem"], registers });
    this.releasesStored = new Gauge({ name: "vw_gateway_ota_releases_stored", help: "verified releases in the gateway's release store", registers });
    this.slotsReleasedIdle = new Counter({ name: "vw_gateway_ota_slots_idle_released_total", help: "download slots freed because their device stopped asking (ota.slotIdleTimeoutMs)", registers });
    for (const cause of ["slots", "rate"]) this.busyReplies.inc({ cause }, 0);
    for (const reason of BAD_REQUEST_REASONS) this.badRequests.inc({ reason }, 0);
    for (const reason of OUTCOME_REASONS) for (const counter of [this.rolledBack, this.refused, this.failed]) counter.inc({ reason }, 0);
    for (const outcome of ["ok", "failed"]) this.releaseFetches.inc({ outcome }, 0);
    for (const problem of RELEASE_REFUSAL_PROBLEMS) this.releasesRefused.inc({ problem }, 0);
  }

  /** Sum of a metric's values matching `labels` (tests). */
  async value(name: string, labels: Record<string, string> = {}): Promise<number> {
    const metric = this.registry.getSingleMetric(name);
    if (!metric) throw new Error(`no metric ${name}`);
    const data = await metric.get();
    return data.values.filter((entry) => Object.entries(labels).every(([key, value]) => String(entry.labels[key]) === value)).reduce((sum, entry) => sum + entry.value, 0);
  }
}
