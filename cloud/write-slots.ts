// Bounded write concurrency: at most maxConcurrent storage writes at once, at most maxQueued
// batches waiting for a slot; beyond that the request is refused at once (503 + Retry-After)
// instead of piling up memory. drain() lets graceful shutdown wait for the writes in flight.
import { ingestError } from "./errors.js";
import type { IngestMetrics } from "./metrics.js";

export type Release = () => void;

export class WriteSlots {
  #inFlight = 0;
  readonly #waiting: ((release: Release) => void)[] = [];
  readonly #idle: (() => void)[] = [];

  constructor(
    readonly maxConcurrent: number,
    readonly maxQueued: number,
    readonly retryAfterS: number,
    private readonly metrics?: IngestMetrics,
  ) {}

  get inFlight(): number {
    return this.#inFlight;
  }

  /** A slot, now or after waiting in the bounded queue; throws the 503 "busy" error when full. */
  async acquire(): Promise<Release> {
    if (this.#inFlight < this.maxConcurrent) return this.#take();
    if (this.#waiting.length >= this.maxQueued) throw ingestError("Busy", `${this.#inFlight} writes in flight, ${this.#waiting.length} queued`, { retryAfterS: this.retryAfterS });
    this.metrics?.writesQueued.inc();
    return await new Promise<Release>((resolve) => this.#waiting.push(resolve));
  }

  #take(): Release {
    this.#inFlight += 1;
    this.metrics?.writesInFlight.set(this.#inFlight);
    return this.#release();
  }

  #release(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next) {
        // hand the slot straight to the next waiter: the in-flight count stays the same
        this.metrics?.writesQueued.dec();
        next(this.#release());
        return;
      }
      this.#inFlight -= 1;
      this.metrics?.writesInFlight.set(this.#inFlight);
      if (this.#inFlight === 0) for (const resolve of this.#idle.splice(0)) resolve();
    };
  }

  /** Resolves true when no write is in flight (false after timeoutMs). */
  async drain(timeoutMs: number): Promise<boolean> {
    if (this.#inFlight === 0) return true;
    return await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.#idle.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}
