// Retry policy of the HTTP sink: exponential backoff with full jitter (a random delay in
// [0, min(max, base * 2^attempt)], AWS Architecture Blog "Exponential Backoff and Jitter"), and the
// server's Retry-After (seconds or an HTTP date) honoured when it asks for longer.

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  random?: () => number;
}

/** Longest Retry-After honoured: a misconfigured server must not park the gateway for a day. */
export const MAX_RETRY_AFTER_MS = 10 * 60 * 1000;

export function backoffDelayMs(attempt: number, options: BackoffOptions): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor((options.random ?? Math.random)() * ceiling);
}

/** Parses a Retry-After header into ms; undefined when absent or unreadable. */
export function parseRetryAfterMs(header: string | undefined, nowMs = Date.now()): number | undefined {
  if (header === undefined || header.trim() === "") return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, seconds * 1000));
  const date = Date.parse(header);
  if (Number.isNaN(date)) return undefined;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, date - nowMs));
}

/** What a retry waits: the server's Retry-After when given, else the jittered backoff. */
export function retryDelayMs(attempt: number, retryAfterMs: number | undefined, options: BackoffOptions): number {
  return retryAfterMs !== undefined ? Math.max(retryAfterMs, backoffDelayMs(attempt, { ...options, maxMs: Math.min(options.maxMs, 1000) })) : backoffDelayMs(attempt, options);
}
