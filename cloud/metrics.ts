// Prometheus metrics of the ingest service (prom-client), one registry per app instance so tests
// can build several apps in one process. Served as text on GET /metrics.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { RECORD_KINDS } from "../protocol/batch.js";
import { ContractErrorCode } from "../protocol/errors.js";
import { IngestErrors } from "./errors.js";
import { STORAGE_REJECTED_CODE, type UnavailableReason, type WriterKind } from "./storage/writer.js";

// The known label values of the labelled counters, one table per label set. Every series exists at
// 0 from the start, so an alerting rule's `increase(...)` is 0, not empty, before the first event
// (manifests/prometheus/). Unions are listed as Record keys: a value added to one fails the compiler.
/** what a /v1/batches request can be refused with: the catalog (but storage, which has its own counter) and the contract (envelope) */
const refusals = Object.values(IngestErrors).filter((entry) => entry !== IngestErrors.StorageUnavailable && entry !== IngestErrors.NotFound);
export const COUNTER_LABELS = {
  status: [...new Set([200, IngestErrors.StorageUnavailable.statusCode, ...refusals.map((entry) => entry.statusCode)])].map(String),
  kind: RECORD_KINDS,
  rejectionReason: [...Object.values(ContractErrorCode), STORAGE_REJECTED_CODE],
  refusalCode: [...new Set([...refusals.map((entry) => entry.code), ...Object.values(ContractErrorCode)])],
  storage: Object.keys({ "influx-v1": 0, "influx-v2": 0, embedded: 0 } satisfies Record<WriterKind, 0>),
  storageReason: Object.keys({ down: 0, timeout: 0, status: 0, auth: 0, "no-database": 0, closed: 0 } satisfies Record<UnavailableReason, 0>),
} as const;

export class IngestMetrics {
  readonly registry = new Registry();
  /** batches answered, by HTTP status */
  readonly batches = new Counter({ name: "vw_ingest_batches_total", help: "Batches answered, by HTTP status", labelNames: ["status"], registers: [this.registry] });
  readonly recordsStored = new Counter({ name: "vw_ingest_records_stored_total", help: "Records stored, by record kind", labelNames: ["kind"], registers: [this.registry] });
  /** by the rejection code sent back (VW_SCHEMA, VW_UNKNOWN_VERSION, VW_STORAGE_REJECTED, ...) */
  readonly recordsRejected = new Counter({ name: "vw_ingest_records_rejected_total", help: "Records rejected, by reason code", labelNames: ["reason"], registers: [this.registry] });
  readonly writeLatency = new Histogram({
    name: "vw_ingest_write_seconds",
    help: "Storage write latency per batch",
    labelNames: ["storage", "outcome"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  /** InfluxDB / embedded store errors that made a batch 503, by reason (down, timeout, status, auth, ...) */
  readonly storageErrors = new Counter({ name: "vw_ingest_storage_errors_total", help: "Storage errors, by reason", labelNames: ["storage", "reason"], registers: [this.registry] });
  readonly writesInFlight = new Gauge({ name: "vw_ingest_writes_in_flight", help: "Storage writes in flight", registers: [this.registry] });
  readonly writesQueued = new Gauge({ name: "vw_ingest_writes_queued", help: "Batches waiting for a write slot", registers: [this.registry] });
  /** requests refused before storage: auth, rate limit, busy, pressure, body; also Node's HTTP layer (timeouts, 431, framing) */
  readonly refused = new Counter({ name: "vw_ingest_requests_refused_total", help: "Requests refused before storage, by code", labelNames: ["code"], registers: [this.registry] });
  /** connections closed at accept because connections.maxConnections were open */
  readonly connectionsDropped = new Counter({ name: "vw_ingest_connections_dropped_total", help: "Connections closed at once because connections.maxConnections were open", registers: [this.registry] });
  /** addresses the unauthenticated-request limiter forgot to stay within unauthenticated.maxAddresses */
  readonly unauthenticatedForgotten = new Counter({
    name: "vw_ingest_unauthenticated_addresses_forgotten_total",
    help: "Addresses whose unauthenticated-request count was dropped to keep the limiter's table bounded",
    registers: [this.registry],
  });
  /** per gateway: bounded by the configured gateways (set only once the token matched the batch's gw) */
  readonly gatewayLastBatch = new Gauge({
    name: "vw_ingest_gateway_last_batch_timestamp_seconds",
    help: "Unix time of the gateway's last batch answered 200, by gateway id (gateways that posted since this process started)",
    labelNames: ["gateway"],
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics) {
      collectDefaultMetrics({ register: this.registry, prefix: "vw_ingest_" });
      dropNonCounterTotals(this.registry);
    }
    for (const status of COUNTER_LABELS.status) this.batches.inc({ status }, 0);
    for (const kind of COUNTER_LABELS.kind) this.recordsStored.inc({ kind }, 0);
    for (const reason of COUNTER_LABELS.rejectionReason) this.recordsRejected.inc({ reason }, 0);
    for (const code of COUNTER_LABELS.refusalCode) this.refused.inc({ code }, 0);
    for (const storage of COUNTER_LABELS.storage) for (const reason of COUNTER_LABELS.storageReason) this.storageErrors.inc({ storage, reason }, 0);
  }
}

/**
 * prom-client's default metrics include three gauges named *_total (nodejs_active_handles_total,
 * _requests_total, _resources_total), which `promtool check metrics` refuses: the suffix is for
 * counters. Each is the sum of the per-type gauge beside it (nodejs_active_handles{type}, ...), so
 * nothing is lost: `sum without (type) (vw_ingest_nodejs_active_handles)` gives the same number.
 */
function dropNonCounterTotals(registry: Registry): void {
  for (const metric of registry.getMetricsAsArray()) if (String(metric.type) !== "counter" && metric.name.endsWith("_total")) registry.removeSingleMetric(metric.name);
}
