// Guards against retry storms and ignored back-pressure: full-jitter delays stay within the
// exponential ceiling, and a Retry-After (seconds or HTTP date) is honoured.
import { expect, it } from "vitest";
import { backoffDelayMs, MAX_RETRY_AFTER_MS, parseRetryAfterMs, retryDelayMs } from "../../gateway/sinks/retry-policy.js";

it("keeps full-jitter backoff within base * 2^attempt, capped", () => {
  const options = { baseMs: 100, maxMs: 5000 };
  expect(backoffDelayMs(0, { ...options, random: () => 0.999 })).toBe(99);
  expect(backoffDelayMs(3, { ...options, random: () => 0.5 })).toBe(400);
  expect(backoffDelayMs(40, { ...options, random: () => 0.999 })).toBe(4995);
  expect(backoffDelayMs(5, { ...options, random: () => 0 })).toBe(0);
});

it("honours Retry-After in seconds or as an HTTP date, bounded", () => {
  const now = Date.parse("2026-11-28T12:00:00Z");
  expect(parseRetryAfterMs("7", now)).toBe(7000);
  expect(parseRetryAfterMs("Sat, 28 Nov 2026 12:00:30 GMT", now)).toBe(30_000);
  expect(parseRetryAfterMs("999999", now)).toBe(MAX_RETRY_AFTER_MS);
  expect(parseRetryAfterMs("soon", now)).toBeUndefined();
  expect(parseRetryAfterMs(undefined, now)).toBeUndefined();
  expect(retryDelayMs(0, 3000, { baseMs: 100, maxMs: 30_000 })).toBeGreaterThanOrEqual(3000);
});
