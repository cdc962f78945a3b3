// The gateway's Prometheus metrics (prom-client), on a registry of its own so several gateways can
// live in one process (tests). Every bound's policy has a counter here (dropped_total by reason).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { isPriorityKind, type BufferStats, type DropReason } from "./buffer/record-buffer.js";
import type { CloudErrorKind } from "./sinks/http-post.js";
import { RECORD_KINDS } from "../protocol/batch.js";
import { ContractErrorCode } from "../protocol/errors.js";
import type { STORAGE_REJECTED_CODE } from "../cloud/storage/writer.js";

// The known label values of the labelled counters, one table per label set. Every series exists at
// 0 from the start, so an alerting rule's `increase(...)` is 0, not empty, before the first event
// (manifests/prometheus/). Unions are listed as Record keys: a value added to one fails the compiler.
export type ForgottenState = "dedupe" | "presence" | "rate_limit";
export const COMMIT_FAILURE_REASONS = ["SQLITE_FULL", "SQLITE_IOERR", "SQLITE_READONLY", "SQLITE_BUSY", "SQLITE_CORRUPT", "SQLITE_CANTOPEN", "other"] as const;
export type CommitFailureReason = (typeof COMMIT_FAILURE_REASONS)[number];

/** The reason label of a failed commit: better-sqlite3's `code` (SQLITE_IOERR_WRITE -> SQLITE_IOERR), or one named in the message. */
export function commitFailureReason(error: unknown): CommitFailureReason {
  const code = (error as { code?: unknown } | null)?.code;
  const text = typeof code === "string" && code.startsWith("SQLITE_") ? code : String((error as Error | null)?.message ?? error);
  const primary = /SQLITE_[A-Z]+/.exec(text)?.[0];
  return (COMMIT_FAILURE_REASONS as readonly string[]).find((reason) => reason === primary) as CommitFailureReason | undefined ?? "other";
}

const DROPPABLE_KINDS = RECORD_KINDS.filter((kind) => !isPriorityKind(kind));
/** the cloud's per-record refusal codes: the contract's, and the storage's (cloud/storage/writer.ts) */
const STORAGE_REJECTED: typeof STORAGE_REJECTED_CODE = "VW_STORAGE_REJECTED";
export const COUNTER_LABELS = {
  kind: RECORD_KINDS,
  quarantineReason: Object.values(ContractErrorCode),
  cloudRejectionReason: [...Object.values(ContractErrorCode), STORAGE_REJECTED],
  cloudErrorKind: Object.keys({ network: 0, timeout: 0, http_5xx: 0, http_429: 0, http_401_403: 0, http_4xx: 0, bad_reply: 0 } satisfies Record<CloudErrorKind, 0>),
  /** reason -> the kinds it drops (buffer bounds: the droppable kinds; intake: messages) */
  drop: { buffer_full: DROPPABLE_KINDS, max_age: DROPPABLE_KINDS, quarantine_full: ["quarantine"], rate_limited: ["message"] } satisfies Record<DropReason | "rate_limited", readonly string[]>,
  /** state forgotten by a bound: dedupe ranges (buffer/seen-ranges.ts), presence (alerts/heartbeat-monitor.ts), rate buckets (limits/token-bucket.ts) */
  forgotten: Object.keys({ dedupe: 0, presence: 0, rate_limit: 0 } satisfies Record<ForgottenState, 0>),
  /** why a commit failed: SQLite's primary result code (extended codes folded), else "other" */
  commitFailureReason: COMMIT_FAILURE_REASONS,
} as const;

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly received = new Counter({ name: "vw_gateway_messages_received_total", help: "MQTT messages received from devices", registers: [this.registry] });
  readonly stored = new Counter({ name: "vw_gateway_records_stored_total", help: "records durably stored in the buffer", labelNames: ["kind"], registers: [this.registry] });
  readonly duplicates = new Counter({ name: "vw_gateway_duplicates_total", help: "messages seen before (QoS 1 redelivery; same device, boot, seq), not stored again", registers: [this.registry] });
  readonly forwarded = new Counter({ name: "vw_gateway_records_forwarded_total", help: "records the cloud confirmed stored", labelNames: ["kind"], registers: [this.registry] });
  readonly rejected = new Counter({ name: "vw_gateway_messages_rejected_total", help: "messages quarantined at the gateway, by contract error code", labelNames: ["reason"], registers: [this.registry] });
  readonly cloudRejected = new Counter({ name: "vw_gateway_records_cloud_rejected_total", help: "records the cloud refused for good (quarantined), by code", labelNames: ["reason"], registers: [this.registry] });
  readonly dropped = new Counter({ name: "vw_gateway_dropped_total", help: "records or messages dropped by a bound, by reason and kind", labelNames: ["reason", "kind"], registers: [this.registry] });
  readonly events = new Counter({ name: "vw_gateway_events_total", help: "gateway events emitted (offline, online, rate_limited)", labelNames: ["event"], registers: [this.registry] });
  readonly localAlerts = new Counter({ name: "vw_gateway_local_alerts_total", help: "device alerts republished on the local alert topic", registers: [this.registry] });
  readonly cloudErrors = new Counter({ name: "vw_gateway_cloud_errors_total", help: "failed batch POSTs, by kind", labelNames: ["kind"], registers: [this.registry] });
  readonly batches = new Counter({ name: "vw_gateway_batches_total", help: "batch POSTs, by outcome", labelNames: ["outcome"], registers: [this.registry] });
  readonly cloudRefusals = new Counter({
    name: "vw_gateway_cloud_refusals_total",
    help: "refusals by the cloud (batches, or records of a 200 reply), by error code (HTTP_<status> without one) and the sink's action (gateway/sinks/error-table.ts)",
    labelNames: ["code", "action"],
    registers: [this.registry],
  });
  readonly quarantineBreakerOpen = new Gauge({ name: "vw_gateway_quarantine_breaker_open", help: "1 while the sink holds records the cloud refuses instead of quarantining them (systemic refusals)", registers: [this.registry] });
  readonly quarantineBreakerTrips = new Counter({ name: "vw_gateway_quarantine_breaker_trips_total", help: "times the quarantine breaker opened", registers: [this.registry] });
  readonly batchLatency = new Histogram({
    name: "vw_gateway_batch_latency_seconds",
    help: "time of one batch POST until the reply",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly bufferRecords = new Gauge({ name: "vw_gateway_buffer_records", help: "records in the buffer", registers: [this.registry] });
  readonly bufferBytes = new Gauge({ name: "vw_gateway_buffer_bytes", help: "payload bytes in the buffer", registers: [this.registry] });
  readonly oldestAge = new Gauge({ name: "vw_gateway_buffer_oldest_record_age_seconds", help: "age of the oldest buffered record", registers: [this.registry] });
  readonly quarantineRecords = new Gauge({ name: "vw_gateway_quarantine_records", help: "messages in the quarantine store", registers: [this.registry] });
  readonly devicesOnline = new Gauge({ name: "vw_gateway_devices_online", help: "devices heard from within their heartbeat limit", registers: [this.registry] });
  readonly mqttConnected = new Gauge({ name: "vw_gateway_mqtt_connected", help: "1 while connected to the broker", registers: [this.registry] });
  readonly mqttUnacked = new Gauge({ name: "vw_gateway_mqtt_unacked_messages", help: "QoS 1 messages received and not yet acknowledged (waiting for their commit; bounded by mqtt.receiveMaximum)", registers: [this.registry] });
  readonly forgotten = new Counter({
    name: "vw_gateway_forgotten_total",
    help: "entries forgotten by a bound, by what: dedupe ((device, boot) ranges; a very late redelivery could be stored again), presence (offline devices dropped for a new one), rate_limit (token buckets of the least recently seen devices)",
    labelNames: ["what"],
    registers: [this.registry],
  });
  readonly untrackedDeviceMessages = new Counter({
    name: "vw_gateway_untracked_device_messages_total",
    help: "messages of devices not tracked for presence because limits.maxDevices devices are tracked (stored and forwarded all the same)",
    registers: [this.registry],
  });
  readonly devicesTracked = new Gauge({ name: "vw_gateway_devices_tracked", help: "devices tracked for presence (online or offline), at most limits.maxDevices", registers: [this.registry] });
  readonly commitFailures = new Counter({
    name: "vw_gateway_commit_failures_total",
    help: "buffer commits that failed (disk full, I/O error): nothing of them acknowledged, the broker redelivers after a backoff",
    labelNames: ["reason"],
    registers: [this.registry],
  });
  readonly commitFailing = new Gauge({ name: "vw_gateway_commit_failing", help: "1 while the last buffer commit failed (until one succeeds)", registers: [this.registry] });
  readonly mqttReceiveMaximumExceeded = new Counter({
    name: "vw_gateway_mqtt_receive_maximum_exceeded_total",
    help: "QoS 1 messages the broker sent beyond the gateway's Receive Maximum (taken all the same; the broker's flow control is off)",
    registers: [this.registry],
  });

  // southbound sources (gateway/sources/modbus, opcua, json-mqtt), labelled by the source's configured name
  readonly sourcePolls = new Counter({ name: "vw_gateway_source_polls_total", help: "polls (Modbus) or notifications (OPC UA) or messages (JSON over MQTT) handled per source, by outcome (ok, failed)", labelNames: ["source", "outcome"], registers: [this.registry] });
  readonly sourceGaps = new Counter({ name: "vw_gateway_source_gaps_total", help: "reading slots without a reading per source: failed or skipped polls, intervals an OPC UA subscription was down, messages over the source's rate; each is a counted gap in the loss audit", labelNames: ["source"], registers: [this.registry] });
  readonly sourceReconnects = new Counter({ name: "vw_gateway_source_reconnects_total", help: "connections (re)established per source after a loss (Modbus socket or serial port, OPC UA session and subscription restored, MQTT)", labelNames: ["source"], registers: [this.registry] });
  readonly sourceValues = new Counter({ name: "vw_gateway_source_values_total", help: "field values stored in the buffer per source", labelNames: ["source"], registers: [this.registry] });
  readonly sourceQuarantined = new Counter({ name: "vw_gateway_source_quarantined_total", help: "source messages quarantined (bad JSON, a mapping that does not match), by source and reason code", labelNames: ["source", "reason"], registers: [this.registry] });
  readonly sourceConnected = new Gauge({ name: "vw_gateway_source_connected", help: "1 while the source's connection (Modbus, OPC UA session, MQTT) is up", labelNames: ["source"], registers: [this.registry] });

  /** Every series of a source exists at 0 from its start (alert rules see 0, not nothing). */
  initSource(source: string, quarantineReasons: readonly string[] = []): void {
    for (const outcome of ["ok", "failed"]) this.sourcePolls.inc({ source, outcome }, 0);
    this.sourceGaps.inc({ source }, 0);
    this.sourceReconnects.inc({ source }, 0);
    this.sourceValues.inc({ source }, 0);
    for (const reason of quarantineReasons) this.sourceQuarantined.inc({ source, reason }, 0);
    this.sourceConnected.set({ source }, 0);
  }

  constructor(withProcessMetrics = true) {
    if (withProcessMetrics) {
      collectDefaultMetrics({ register: this.registry, prefix: "vw_gateway_" });
      dropNonCounterTotals(this.registry);
    }
    for (const kind of COUNTER_LABELS.kind) {
      this.stored.inc({ kind }, 0);
      this.forwarded.inc({ kind }, 0);
    }
    for (const reason of COUNTER_LABELS.quarantineReason) this.rejected.inc({ reason }, 0);
    for (const reason of COUNTER_LABELS.cloudRejectionReason) this.cloudRejected.inc({ reason }, 0);
    for (const kind of COUNTER_LABELS.cloudErrorKind) this.cloudErrors.inc({ kind }, 0);
    for (const [reason, kinds] of Object.entries(COUNTER_LABELS.drop)) for (const kind of kinds) this.dropped.inc({ reason, kind }, 0);
    for (const what of COUNTER_LABELS.forgotten) this.forgotten.inc({ what }, 0);
    for (const reason of COUNTER_LABELS.commitFailureReason) this.commitFailures.inc({ reason }, 0);
  }

  #synced = new Map<string, number>();

  /** Brings a counter up to a total kept elsewhere (the parts count as plain numbers); never goes down. */
  syncTotal(counter: Counter, total: number, labels: Record<string, string> = {}): void {
    const key = `${(counter as unknown as { name: string }).name}${JSON.stringify(labels)}`;
    const delta = total - (this.#synced.get(key) ?? 0);
    if (delta <= 0) return;
    this.#synced.set(key, total);
    counter.inc(labels, delta);
  }

  updateBuffer(stats: BufferStats, nowUs = Date.now() * 1000): void {
    this.bufferRecords.set(stats.records);
    this.bufferBytes.set(stats.bytes);
    this.oldestAge.set(stats.oldestTsUs === null ? 0 : Math.max(0, (nowUs - stats.oldestTsUs) / 1e6));
    this.quarantineRecords.set(stats.quarantined);
  }

  async text(): Promise<string> {
    return await this.registry.metrics();
  }

  /** Sum of a metric's values matching `labels` (tests and the status record). */
  async value(name: string, labels: Record<string, string> = {}): Promise<number> {
    const metric = this.registry.getSingleMetric(name);
    if (!metric) throw new Error(`no metric ${name}`);
    const data = await metric.get();
    return data.values
      .filter((entry) => !String((entry as { metricName?: string }).metricName ?? "").endsWith("_bucket") && Object.entries(labels).every(([key, value]) => String(entry.labels[key]) === value))
      .reduce((sum, entry) => sum + entry.value, 0);
  }
}

/**
 * prom-client's default metrics include three gauges named *_total (nodejs_active_handles_total,
 * _requests_total, _resources_total), which `promtool check metrics` refuses: the suffix is for
 * counters. Each is the sum of the per-type gauge beside it (nodejs_active_handles{type}, ...), so
 * nothing is lost: `sum without (type) (vw_gateway_nodejs_active_handles)` gives the same number.
 */
function dropNonCounterTotals(registry: Registry): void {
  for (const metric of registry.getMetricsAsArray()) if (String(metric.type) !== "counter" && metric.name.endsWith("_total")) registry.removeSingleMetric(metric.name);
}
