// Per-address budget for requests that fail authentication (no token, unknown or wrong token).
// Counted only after authentication failed, so a gateway whose token verifies is never slowed by
// an address it shares (NAT) with someone probing. Fixed window per address, in a bounded map in
// least-recently-seen order: beyond `maxAddresses` the oldest address is forgotten (counted), so
// spoofed or rotating sources cost memory only up to the cap.

export interface UnauthenticatedLimitOptions {
  /** failures per address per window before 429; 0 = no limit */
  maxRequests: number;
  windowMs: number;
  maxAddresses: number;
  /** called once per forgotten address (a metrics counter) */
  onForget?: () => void;
  now?: () => number;
}

interface Window {
  count: number;
  startMs: number;
}

export class UnauthenticatedLimit {
  readonly #options: UnauthenticatedLimitOptions;
  readonly #now: () => number;
  readonly #windows = new Map<string, Window>();
  /** addresses dropped to keep the map within maxAddresses */
  forgotten = 0;

  constructor(options: UnauthenticatedLimitOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#windows.size;
  }

  /** Counts one failed authentication from `address`: the seconds to wait (Retry-After) when it is over its budget, else undefined. */
  fail(address: string): number | undefined {
    const { maxRequests, windowMs, maxAddresses } = this.#options;
    if (maxRequests === 0) return undefined;
    const now = this.#now();
    let window = this.#windows.get(address);
    if (window !== undefined) {
      // re-inserted below: Map order is the least-recently-seen order
      this.#windows.delete(address);
      if (now - window.startMs >= windowMs) window = undefined;
    }
    if (window === undefined) {
      window = { count: 0, startMs: now };
      while (this.#windows.size >= maxAddresses) {
        this.#windows.delete(this.#windows.keys().next().value as string);
        this.forgotten += 1;
        this.#options.onForget?.();
      }
    }
    window.count += 1;
    this.#windows.set(address, window);
    if (window.count <= maxRequests) return undefined;
    return Math.max(1, Math.ceil((window.startMs + windowMs - now) / 1000));
  }
}
