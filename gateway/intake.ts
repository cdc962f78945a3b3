// What happens to one group of MQTT messages before their commit: validation (bad ones to the
// quarantine), per-device rate limiting, presence tracking, then one durable append; after the
// commit, alerts are republished locally. Runs synchronously inside the group commit.
import type { Logger } from "pino";
import type { RecordBuffer, NewRecord, QuarantineEntry } from "./buffer/record-buffer.js";
import type { Pending } from "./sources/group-commit.js";
import { classifyMessage } from "./validation/classify-message.js";
import type { DeviceRateLimiter } from "./limits/token-bucket.js";
import type { HeartbeatMonitor, PresenceEvent } from "./alerts/heartbeat-monitor.js";
import type { LocalPublisher } from "./alerts/local-publisher.js";
import { commitFailureReason, type CommitFailureReason, type GatewayMetrics } from "./metrics.js";

/** Messages of untracked devices are logged at most this often (a flood of made-up ids). */
const UNTRACKED_LOG_EVERY_MS = 60_000;

export interface CommitState {
  /** the last commit failed (none has succeeded since) */
  failing: boolean;
  /** reason of the last failed commit (SQLite's code), null before any */
  lastError: CommitFailureReason | null;
  lastErrorAtMs: number | null;
  failures: number;
}

export class Intake {
  /** messages dropped by the rate limiter per device since the last report */
  #rateLimited = new Map<string, number>();
  #commitState: CommitState = { failing: false, lastError: null, lastErrorAtMs: null, failures: 0 };
  #untrackedLogged = 0;
  #untrackedLoggedAtMs = -Infinity;

  constructor(
    private readonly buffer: RecordBuffer,
    private readonly limiter: DeviceRateLimiter,
    private readonly presence: HeartbeatMonitor,
    private readonly local: LocalPublisher,
    private readonly metrics: GatewayMetrics,
    private readonly log: Logger,
    private readonly afterCommit: () => void,
    /** each committed telemetry message's anomaly score (centi, null while learning): the fleet sync's health figures, from the decode done here anyway */
    private readonly onTelemetry?: (device: string, anomalyCenti: number | null) => void,
  ) {}

  commit(messages: Pending[]): void {
    const records: NewRecord[] = [];
    const quarantine: QuarantineEntry[] = [];
    const alerts: Uint8Array[] = [];
    const events: NewRecord[] = [];
    const telemetry: { device: string; n: number | null }[] | undefined = this.onTelemetry ? [] : undefined;
    let rateDropped = 0;
    for (const message of messages) {
      const result = classifyMessage(message.topic, message.payload);
      if (!result.ok) {
        quarantine.push(result.entry);
        continue;
      }
      const device = result.record.device;
      if (result.message.kind !== "will" && !this.limiter.take(device)) {
        this.#rateLimited.set(device, (this.#rateLimited.get(device) ?? 0) + 1);
        rateDropped++;
        continue;
      }
      const change = result.message.kind === "will" ? this.presence.will(device) : this.presence.seen(device);
      if (change) events.push(this.#event(change));
      records.push(result.record);
      if (result.message.kind === "alert") alerts.push(result.record.body);
      else if (telemetry && result.message.kind === "tele") telemetry.push({ device, n: result.message.payload.n });
    }
    const outcome = this.#append(records.concat(events), quarantine);
    // counted only after the commit: a failed transaction counts nothing (the broker redelivers)
    this.metrics.received.inc(messages.length);
    this.metrics.duplicates.inc(outcome.duplicates);
    for (const entry of quarantine) this.metrics.rejected.inc({ reason: entry.code });
    if (rateDropped > 0) this.metrics.dropped.inc({ reason: "rate_limited", kind: "message" }, rateDropped);
    for (const [kind, count] of Object.entries(outcome.storedByKind)) this.metrics.stored.inc({ kind }, count);
    for (const alert of alerts) {
      this.local.alert(alert);
      this.metrics.localAlerts.inc();
    }
    if (telemetry) for (const t of telemetry) this.onTelemetry?.(t.device, t.n);
    if (quarantine.length > 0) this.log.debug({ quarantined: quarantine.length, first: quarantine[0]?.reason }, "messages quarantined");
    this.afterCommit();
  }

  get commitState(): Readonly<CommitState> {
    return this.#commitState;
  }

  #append(records: NewRecord[], quarantine: QuarantineEntry[] = []): ReturnType<RecordBuffer["append"]> {
    try {
      const outcome = this.buffer.append(records, quarantine);
      if (this.#commitState.failing) {
        this.#commitState.failing = false;
        this.metrics.commitFailing.set(0);
        this.log.info({ failures: this.#commitState.failures }, "buffer commits succeed again");
      }
      return outcome;
    } catch (error) {
      const reason = commitFailureReason(error);
      this.#commitState = { failing: true, lastError: reason, lastErrorAtMs: Date.now(), failures: this.#commitState.failures + 1 };
      this.metrics.commitFailures.inc({ reason });
      this.metrics.commitFailing.set(1);
      throw error;
    }
  }

  #event(change: PresenceEvent): NewRecord {
    this.metrics.events.inc({ event: change.event });
    this.log.info({ device: change.device, event: change.event, detail: change.detail }, "device presence changed");
    return this.local.event(change.device, change.event, 1, change.detail);
  }

  /** One log line a minute at most while devices beyond limits.maxDevices send (made-up ids, a misconfigured site). */
  #logUntracked(): void {
    const untracked = this.presence.untracked;
    const now = Date.now();
    if (untracked === this.#untrackedLogged || now - this.#untrackedLoggedAtMs < UNTRACKED_LOG_EVERY_MS) return;
    this.log.warn(
      { maxDevices: this.presence.maxDevices, untrackedMessages: untracked - this.#untrackedLogged, untrackedMessagesTotal: untracked },
      "devices beyond limits.maxDevices: their messages are stored and forwarded, but they are not tracked for presence",
    );
    this.#untrackedLogged = untracked;
    this.#untrackedLoggedAtMs = now;
  }

  /** Periodic: offline detection and one rate_limited event per flooding device; stores the events. */
  tick(): void {
    const events: NewRecord[] = this.presence.check().map((change) => this.#event(change));
    for (const [device, count] of this.#rateLimited) {
      this.metrics.events.inc({ event: "rate_limited" });
      this.log.warn({ device, dropped: count }, "device over its rate: messages dropped");
      events.push(this.local.event(device, "rate_limited", count, `${count} message(s) dropped`));
    }
    this.#rateLimited.clear();
    this.#logUntracked();
    if (events.length > 0) {
      this.#append(events);
      this.metrics.stored.inc({ kind: "event" }, events.length);
      this.afterCommit();
    }
  }
}
