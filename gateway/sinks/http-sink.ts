// HTTP sink: takes batches from the buffer and POSTs them to the ingest service.
// - batches by count (batchMaxRecords), bytes (batchMaxBytes) and age (batchMaxAgeMs); alerts and
//   events are sent at once and go first in every batch (buffer.lease), then the backlog oldest first;
// - at most maxInFlight batches in flight, one while the quarantine breaker is open;
// - a refusal is handled by its error code, from ONE table (error-table.ts), never by the HTTP
//   status alone: retry and alarm keep everything and send the same batch (same record ids and
//   timestamps) again after exponential backoff with full jitter, or Retry-After; split halves the
//   batch (413 / VW_OVERSIZE only); a reply without a catalog code (a proxy's HTML page) is retried;
// - 200 reply: delete what was stored; quarantine what it rejected with a record-level code, unless
//   the quarantine breaker (quarantine-breaker.ts) judges the refusals systemic: then those records
//   go back to the buffer and no batch starts before a backoff; resend what the reply omitted.
import type { Logger } from "pino";
import type { BatchReply, RecordRejection } from "../../protocol/batch.js";
import type { RecordBuffer, StoredRecord } from "../buffer/record-buffer.js";
import type { GatewayMetrics } from "../metrics.js";
import { encodeBatch } from "./batch-encoder.js";
import { isCloudErrorCode, rejectionAction } from "./error-table.js";
import type { HttpPoster } from "./http-post.js";
import { DEFAULT_QUARANTINE_BREAKER_REFUSALS, QuarantineBreaker } from "./quarantine-breaker.js";
import { RepeatedLog } from "../repeated-log.js";
import { retryDelayMs } from "./retry-policy.js";

export interface HttpSinkOptions {
  gateway: string;
  site: string;
  batchMaxRecords: number;
  batchMaxBytes: number;
  batchMaxAgeMs: number;
  maxInFlight: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** the quarantine breaker's threshold (default DEFAULT_QUARANTINE_BREAKER_REFUSALS) */
  quarantineBreakerRefusals?: number;
  /** a failing batch's warning repeats at most once per this many ms, with a count (default 60 s) */
  repeatedLogIntervalMs?: number;
}

/** one line per kind of delivery failure per minute: an outage is a few lines, not one per retry */
const DEFAULT_REPEATED_LOG_INTERVAL_MS = 60_000;

export class HttpSink {
  #inFlight = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #stopping = false;
  #sequence = 0;
  #sleepers = new Set<() => void>();
  #idle: Array<() => void> = [];
  readonly #runId = Date.now().toString(36);
  readonly #breaker: QuarantineBreaker;
  readonly #failures: RepeatedLog;
  /** no batch is sent before this (performance.now(), ms): the backoff after records were held */
  #pausedUntilMs = 0;
  /** consecutive replies whose refused records were held, for that backoff */
  #holdRounds = 0;

  constructor(
    private readonly buffer: RecordBuffer,
    private readonly poster: HttpPoster,
    private readonly options: HttpSinkOptions,
    private readonly metrics: GatewayMetrics,
    private readonly log: Logger,
  ) {
    this.#breaker = new QuarantineBreaker(options.quarantineBreakerRefusals ?? DEFAULT_QUARANTINE_BREAKER_REFUSALS, (open, streak) => this.#breakerChanged(open, streak));
    metrics.quarantineBreakerOpen.set(0);
    this.#failures = new RepeatedLog({ log, intervalMs: options.repeatedLogIntervalMs ?? DEFAULT_REPEATED_LOG_INTERVAL_MS });
  }

  start(): void {
    this.#timer = setInterval(() => this.nudge(), Math.max(10, Math.min(50, this.options.batchMaxAgeMs)));
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** True while the quarantine breaker holds refused records instead of quarantining them. */
  get quarantineBreakerOpen(): boolean {
    return this.#breaker.open;
  }

  /** Starts batches while there is room in flight and a batch is due (the timer nudges again after a pause). */
  nudge(): void {
    while (!this.#stopping && this.#inFlight < (this.#breaker.open ? 1 : this.options.maxInFlight) && performance.now() >= this.#pausedUntilMs && this.#due()) {
      const records = this.buffer.lease(this.options.batchMaxRecords, this.options.batchMaxBytes);
      if (records.length === 0) return;
      this.#inFlight++;
      void this.#deliver(records).finally(() => {
        this.#inFlight--;
        if (this.#inFlight === 0) for (const resolve of this.#idle.splice(0)) resolve();
        this.nudge();
      });
    }
  }

  #due(): boolean {
    // counts from memory first: only a batch that is not full yet needs the age of its oldest
    // record, which is a query (this runs after every commit)
    const pending = this.buffer.pending();
    if (pending.pendingRecords === 0) return false;
    if (pending.pendingPriority > 0) return true;
    if (pending.pendingRecords >= this.options.batchMaxRecords || pending.pendingBytes >= this.options.batchMaxBytes) return true;
    const oldestPendingTsUs = this.buffer.stats().oldestPendingTsUs;
    return oldestPendingTsUs !== null && Date.now() * 1000 - oldestPendingTsUs >= this.options.batchMaxAgeMs * 1000;
  }

  async #deliver(records: StoredRecord[]): Promise<void> {
    const parts: StoredRecord[][] = [records];
    let attempt = 0;
    while (parts.length > 0 && !this.#stopping) {
      const pauseMs = this.#pausedUntilMs - performance.now();
      if (pauseMs > 0) await this.#sleep(pauseMs);
      if (this.#stopping) return;
      const part = parts.shift() as StoredRecord[];
      const id = `${this.options.gateway}-${this.#runId}-${++this.#sequence}`.slice(0, 64);
      const startedMs = performance.now();
      const outcome = await this.poster.post(encodeBatch({ gateway: this.options.gateway, site: this.options.site, id }, part));
      this.metrics.batchLatency.observe((performance.now() - startedMs) / 1000);
      if (this.#closed) return; // shutting down: the records stay in the buffer, resent after restart
      switch (outcome.kind) {
        case "reply": {
          this.metrics.batches.inc({ outcome: "ok" });
          attempt = 0;
          this.#failures.settled("batch delivery works again");
          const missing = this.#settle(id, part, outcome.reply);
          if (missing.length > 0) {
            this.log.warn({ batch: id, missing: missing.length }, "reply omitted records: resending them");
            parts.unshift(missing);
            await this.#sleep(retryDelayMs(attempt++, undefined, this.#backoff()));
          }
          break;
        }
        case "split": {
          this.metrics.batches.inc({ outcome: "split" });
          if (part.length > 1) {
            this.metrics.cloudRefusals.inc({ code: outcome.refusal, action: "split" });
            const half = Math.ceil(part.length / 2);
            parts.unshift(part.slice(0, half), part.slice(half));
            break;
          }
          // one record (at most ~1 KiB) still too large: a limit on the way is misconfigured; the
          // record is kept, never quarantined
          this.metrics.cloudRefusals.inc({ code: outcome.refusal, action: "alarm" });
          const delayMs = retryDelayMs(attempt++, undefined, this.#backoff());
          this.log.error({ batch: id, refusal: outcome.refusal, detail: outcome.detail, retryInMs: delayMs }, "a single record refused as too large: a body limit on the way is below one record; kept, will retry");
          parts.unshift(part);
          await this.#sleep(delayMs);
          break;
        }
        case "retry": {
          this.metrics.batches.inc({ outcome: outcome.action });
          this.metrics.cloudErrors.inc({ kind: outcome.error });
          if (outcome.refusal !== undefined) this.metrics.cloudRefusals.inc({ code: outcome.refusal, action: outcome.action });
          const delayMs = retryDelayMs(attempt++, outcome.retryAfterMs, this.#backoff());
          const line = { batch: id, error: outcome.error, refusal: outcome.refusal, detail: outcome.detail, retryInMs: delayMs, records: part.length };
          const key = `${outcome.action}:${outcome.error}:${outcome.refusal ?? ""}`;
          if (outcome.action === "alarm") this.#failures.note("error", key, line, "batch refused for a reason that is not its records (needs an operator): kept, will retry");
          else this.#failures.note("warn", key, line, "batch not stored: will retry");
          parts.unshift(part);
          await this.#sleep(delayMs);
          break;
        }
      }
    }
  }

  /** Applies a 200 reply: deletes what was stored, quarantines or holds what was rejected; returns the records it omitted. */
  #settle(batch: string, part: StoredRecord[], reply: BatchReply): StoredRecord[] {
    if (reply.rejected.length === 0 && storedAsSent(part, reply.stored)) {
      // the usual reply: every record stored, listed in the order sent; no lookups needed
      this.buffer.complete(reply.stored);
      this.#countForwarded(part);
      this.#judge(batch, part.length, []);
      return [];
    }
    const byId = new Map(part.map((record) => [record.id, record]));
    const stored = reply.stored.filter((storedId) => byId.has(storedId));
    this.buffer.complete(stored);
    this.#countForwarded(stored.map((storedId) => byId.get(storedId)!));
    const rejected = reply.rejected.filter((rejection) => byId.has(rejection.id));
    this.#judge(batch, stored.length, rejected);
    const answered = new Set([...stored, ...rejected.map((rejection) => rejection.id)]);
    return part.filter((record) => !answered.has(record.id));
  }

  /** Per-record refusals: quarantined when the table says record-level and the breaker is closed, else given back to the buffer. */
  #judge(batch: string, storedCount: number, rejected: RecordRejection[]): void {
    const verdict = this.#breaker.observe(storedCount, rejected.length);
    if (rejected.length === 0) {
      if (storedCount > 0) this.#holdRounds = 0;
      return;
    }
    const quarantine: RecordRejection[] = [];
    const hold: RecordRejection[] = [];
    for (const rejection of rejected) (verdict === "quarantine" && rejectionAction(rejection.code) === "quarantine" ? quarantine : hold).push(rejection);
    if (quarantine.length > 0) {
      this.buffer.reject(quarantine);
      for (const [code, count] of countByCode(quarantine)) {
        this.metrics.cloudRejected.inc({ reason: code }, count);
        this.metrics.cloudRefusals.inc({ code: refusalLabel(code), action: "quarantine" }, count);
      }
      this.log.warn({ batch, rejected: quarantine.slice(0, 5), count: quarantine.length }, "cloud rejected records: quarantined");
    }
    if (hold.length === 0) {
      this.#holdRounds = 0;
      return;
    }
    this.buffer.release(hold.map((rejection) => rejection.id));
    for (const [code, count] of countByCode(hold)) this.metrics.cloudRefusals.inc({ code: refusalLabel(code), action: "hold" }, count);
    const pauseMs = retryDelayMs(this.#holdRounds++, undefined, this.#backoff());
    this.#pausedUntilMs = Math.max(this.#pausedUntilMs, performance.now() + pauseMs);
    this.log.warn(
      { batch, held: hold.length, stored: storedCount, breakerOpen: this.#breaker.open, rejected: hold.slice(0, 3), pauseMs },
      "cloud refused records: kept buffered, not quarantined; sending again after a pause",
    );
  }

  #breakerChanged(open: boolean, streak: number): void {
    this.metrics.quarantineBreakerOpen.set(open ? 1 : 0);
    if (open) {
      this.metrics.quarantineBreakerTrips.inc();
      this.log.error(
        { refusedInARow: streak, threshold: this.#breaker.refusalsToTrip },
        "quarantine breaker open: the cloud keeps refusing records that passed the gateway's validation; they stay buffered (none quarantined), probed one batch at a time",
      );
    } else {
      this.log.info("quarantine breaker closed: the cloud stores records again; records it refuses by themselves are quarantined again");
    }
  }

  #countForwarded(records: StoredRecord[]): void {
    const perKind = new Map<string, number>();
    for (const record of records) perKind.set(record.kind, (perKind.get(record.kind) ?? 0) + 1);
    for (const [kind, count] of perKind) this.metrics.forwarded.inc({ kind }, count);
  }

  #backoff() {
    return { baseMs: this.options.backoffBaseMs, maxMs: this.options.backoffMaxMs };
  }

  async #sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#sleepers.add(wake);
    });
  }

  /** Resolves when nothing is in flight (tests, bench). */
  async idle(): Promise<void> {
    if (this.#inFlight === 0) return;
    await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  /** Stops sending; batches in flight are abandoned (their records stay buffered, resent later). */
  async close(graceMs = 2000): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    // let requests already on the wire finish within the grace period, so their replies count
    const deadline = Date.now() + graceMs;
    this.#stopping = true;
    for (const wake of [...this.#sleepers]) wake();
    while (this.#inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.#closed = true;
    this.poster.close();
  }
}

function countByCode(rejections: RecordRejection[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const rejection of rejections) counts.set(rejection.code, (counts.get(rejection.code) ?? 0) + 1);
  return counts;
}

/** A metric label: the catalog's code, or OTHER (label values stay bounded). */
function refusalLabel(code: string): string {
  return isCloudErrorCode(code) ? code : "OTHER";
}

/** True when `stored` lists exactly the ids of `part`, in order. */
function storedAsSent(part: StoredRecord[], stored: number[]): boolean {
  if (stored.length !== part.length) return false;
  for (let i = 0; i < part.length; i++) if ((part[i] as StoredRecord).id !== stored[i]) return false;
  return true;
}
