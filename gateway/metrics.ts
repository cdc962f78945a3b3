// The gateway's Prometheus metrics (prom-client), on a registry of its own so several gateways can
// live in one process (tests). Every bound's policy has a counter here (dropped_total by reason).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { BufferStats } from "./buffer/record-buffer.js";

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

  constructor(withProcessMetrics = true) {
    if (withProcessMetrics) collectDefaultMetrics({ register: this.registry, prefix: "vw_gateway_" });
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
