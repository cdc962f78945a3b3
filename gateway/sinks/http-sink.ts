// HTTP sink: takes batches from the buffer and POSTs them to the ingest service.
// - batches by count (batchMaxRecords), bytes (batchMaxBytes) and age (batchMaxAgeMs); alerts and
//   events are sent at once and go first in every batch (buffer.lease), then the backlog oldest first;
// - at most maxInFlight batches in flight;
// - network errors, timeouts, 5xx, 429, 401/403: keep everything, retry the same batch (same
//   record ids and timestamps) after exponential backoff with full jitter, or Retry-After;
// - 413: split the batch in halves; a single record that is still too large is quarantined;
// - a whole-batch 400/422: split likewise to isolate the bad record, quarantine it alone;
// - 200 reply: delete what was stored, quarantine what was rejected, retry what the reply omitted.
import type { Logger } from "pino";
import type { RecordBuffer, StoredRecord } from "../buffer/record-buffer.js";
import type { GatewayMetrics } from "../metrics.js";
import { encodeBatch } from "./batch-encoder.js";
import type { HttpPoster } from "./http-post.js";
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
}

export class HttpSink {
  #inFlight = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #stopping = false;
  #sequence = 0;
  #sleepers = new Set<() => void>();
  #idle: Array<() => void> = [];
  readonly #runId = Date.now().toString(36);

  constructor(
    private readonly buffer: RecordBuffer,
    private readonly poster: HttpPoster,
    private readonly options: HttpSinkOptions,
    private readonly metrics: GatewayMetrics,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.#timer = setInterval(() => this.nudge(), Math.max(10, Math.min(50, this.options.batchMaxAgeMs)));
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Starts batches while there is room in flight and a batch is due. */
  nudge(): void {
    while (!this.#stopping && this.#inFlight < this.options.maxInFlight && this.#due()) {
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
          if (outcome.reply.rejected.length === 0 && storedAsSent(part, outcome.reply.stored)) {
            // the usual reply: every record stored, listed in the order sent; no lookups needed
            this.buffer.complete(outcome.reply.stored);
            this.#countForwarded(part);
            break;
          }
          const byId = new Map(part.map((record) => [record.id, record]));
          const stored = outcome.reply.stored.filter((storedId) => byId.has(storedId));
          this.buffer.complete(stored);
          this.#countForwarded(stored.map((storedId) => byId.get(storedId)!));
          const rejected = outcome.reply.rejected.filter((rejection) => byId.has(rejection.id));
          if (rejected.length > 0) {
            this.buffer.reject(rejected);
            for (const rejection of rejected) this.metrics.cloudRejected.inc({ reason: rejection.code });
            this.log.warn({ batch: id, rejected: rejected.slice(0, 5) }, "cloud rejected records: quarantined");
          }
          const answered = new Set([...stored, ...rejected.map((rejection) => rejection.id)]);
          const missing = part.filter((record) => !answered.has(record.id));
          if (missing.length > 0) {
            this.log.warn({ batch: id, missing: missing.length }, "reply omitted records: resending them");
            parts.unshift(missing);
            await this.#sleep(retryDelayMs(attempt++, undefined, this.#backoff()));
          }
          break;
        }
        case "too_large":
        case "bad_batch": {
          this.metrics.batches.inc({ outcome: outcome.kind });
          if (part.length > 1) {
            const half = Math.ceil(part.length / 2);
            parts.unshift(part.slice(0, half), part.slice(half));
          } else {
            const code = outcome.kind === "too_large" ? "HTTP_413" : `HTTP_${outcome.status}`;
            const reason = outcome.kind === "too_large" ? "the cloud refused this single record as too large" : `the cloud refused this single record: ${outcome.detail}`;
            this.buffer.reject(part.map((record) => ({ id: record.id, code, reason })));
            this.metrics.cloudRejected.inc({ reason: code }, part.length);
          }
          break;
        }
        case "retry": {
          this.metrics.batches.inc({ outcome: "retry" });
          this.metrics.cloudErrors.inc({ kind: outcome.error });
          const delayMs = retryDelayMs(attempt++, outcome.retryAfterMs, this.#backoff());
          this.log.warn({ batch: id, error: outcome.error, detail: outcome.detail, retryInMs: delayMs, records: part.length }, "batch not stored: will retry");
          parts.unshift(part);
          await this.#sleep(delayMs);
          break;
        }
      }
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

/** True when `stored` lists exactly the ids of `part`, in order. */
function storedAsSent(part: StoredRecord[], stored: number[]): boolean {
  if (stored.length !== part.length) return false;
  for (let i = 0; i < part.length; i++) if ((part[i] as StoredRecord).id !== stored[i]) return false;
  return true;
}
