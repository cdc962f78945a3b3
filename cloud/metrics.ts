// Prometheus metrics of the ingest service (prom-client), one registry per app instance so tests
// can build several apps in one process. Served as text on GET /metrics.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

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
  /** requests refused before storage: auth, rate limit, busy, pressure, body */
  readonly refused = new Counter({ name: "vw_ingest_requests_refused_total", help: "Requests refused before storage, by code", labelNames: ["code"], registers: [this.registry] });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: "vw_ingest_" });
  }
}
