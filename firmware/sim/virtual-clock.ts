// The simulated board's clock: virtual milliseconds that move only when the host says so
// (advanceVirtualTime), so a test or bench runs hours of device time in seconds, deterministically.
// Timers fire in due-time order (ties: creation order), including timers that callbacks set or
// reschedule while time advances. Runs under XS; no Node API.

interface VirtualTimer {
  id: number;
  dueMs: number;
  repeatMs: number;
  callback: (id: number) => void;
}

/** a repeating timer never fires more often than this (guards an endless loop on repeat 0) */
const MIN_REPEAT_MS = 0.001;

let nowMs = 0;
let nextId = 1;
const timers = new Map<number, VirtualTimer>();

export function virtualNowMs(): number {
  return nowMs;
}

/** moves the clock forward by ms, firing every timer that falls due, in order */
export function advanceVirtualTime(ms: number): void {
  if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`advanceVirtualTime: ms must be a finite number >= 0, got ${ms}`);
  const targetMs = nowMs + ms;
  for (;;) {
    let next: VirtualTimer | undefined;
    for (const timer of timers.values()) {
      if (timer.dueMs <= targetMs && (!next || timer.dueMs < next.dueMs)) next = timer;
    }
    if (!next) break;
    nowMs = Math.max(nowMs, next.dueMs);
    if (next.repeatMs > 0) next.dueMs += next.repeatMs;
    else timers.delete(next.id);
    next.callback(next.id);
  }
  nowMs = targetMs;
}

/** Timer.delay: the device blocks; here time jumps without firing timers (they run late, as on the device) */
export function delayVirtualTime(ms: number): void {
  if (ms > 0) nowMs += ms;
}

export function setVirtualTimer(callback: (id: number) => void, ms = 0, repeatMs = 0): number {
  const id = nextId++;
  timers.set(id, { id, dueMs: nowMs + Math.max(0, ms), repeatMs: repeatMs > 0 ? Math.max(repeatMs, MIN_REPEAT_MS) : 0, callback });
  return id;
}

export function scheduleVirtualTimer(id: number, ms = 0, repeatMs = 0): void {
  const timer = timers.get(id);
  if (!timer) return;
  timer.dueMs = nowMs + Math.max(0, ms);
  timer.repeatMs = repeatMs > 0 ? Math.max(repeatMs, MIN_REPEAT_MS) : 0;
}

export function clearVirtualTimer(id: number): void {
  timers.delete(id);
}

export function pendingVirtualTimers(): number {
  return timers.size;
}
