// The site's download slots and each device's byte budget (issue 15, gateway distribution).
//
// Slots: at most `maxConcurrent` devices download at once. A device takes a slot with its first
// request while one is free, and keeps it while it keeps asking; it gives it back when its status
// reports a state other than "downloading" (done, failed, refused...) or after `idleTimeoutMs`
// without a request (it lost power, or its network). A device without a slot is told to retry
// later (w): it is never refused, only made to wait.
//
// Flow control: each slot holds a token bucket of bytes (`burstBytes` deep, refilled at
// `bytesPerS`), so the bytes a device can have in flight (sent, not yet consumed) are bounded by
// the burst, and its sustained share of the site's link by the rate; a request beyond the budget
// is told to retry once the budget allows it.
//
// Time is passed in (nowMs) so the policy is a plain function of its inputs.

export interface SlotLimits {
  maxConcurrent: number;
  idleTimeoutMs: number;
  bytesPerS: number;
  burstBytes: number;
  /** how long a device without a slot is told to wait, ms (jittered by up to half of it) */
  busyRetryMs: number;
}

interface Slot {
  boot: number;
  lastRequestMs: number;
  tokens: number;
  refilledMs: number;
}

export type Admission = { ok: true } | { ok: false; cause: "slots" | "rate"; retryAfterMs: number };

export class DownloadSlots {
  readonly #slots = new Map<string, Slot>();
  #idleReleased = 0;

  constructor(
    private readonly limits: SlotLimits,
    private readonly random: () => number = Math.random,
    /** told how many slots the idle timeout freed (a counter in /metrics) */
    private readonly onIdleRelease: (freed: number) => void = () => {},
  ) {
    // a chunk larger than the burst could never be served: the bucket must hold one chunk
    if (limits.burstBytes < 1 || limits.bytesPerS < 1 || limits.maxConcurrent < 1) throw new Error("download slot limits must be positive");
  }

  get held(): number {
    return this.#slots.size;
  }

  /** Slots freed by the idle timeout since start. */
  get idleReleased(): number {
    return this.#idleReleased;
  }

  has(device: string): boolean {
    return this.#slots.has(device);
  }

  devices(): string[] {
    return [...this.#slots.keys()];
  }

  /** May `device` (boot `boot`) have `bytes` now? Takes a slot if it has none and one is free. */
  admit(device: string, boot: number, bytes: number, nowMs: number): Admission {
    this.expire(nowMs);
    let slot = this.#slots.get(device);
    if (!slot) {
      if (this.#slots.size >= this.limits.maxConcurrent) {
        return { ok: false, cause: "slots", retryAfterMs: Math.round(this.limits.busyRetryMs * (1 + this.random() / 2)) };
      }
      slot = { boot, lastRequestMs: nowMs, tokens: this.limits.burstBytes, refilledMs: nowMs };
      this.#slots.set(device, slot);
    }
    // a new boot of the same device continues in its slot: the old boot is gone
    slot.boot = boot;
    slot.lastRequestMs = nowMs;
    slot.tokens = Math.min(this.limits.burstBytes, slot.tokens + ((nowMs - slot.refilledMs) * this.limits.bytesPerS) / 1000);
    slot.refilledMs = nowMs;
    const want = Math.min(bytes, this.limits.burstBytes);
    if (slot.tokens < want) {
      return { ok: false, cause: "rate", retryAfterMs: Math.max(1, Math.ceil(((want - slot.tokens) * 1000) / this.limits.bytesPerS)) };
    }
    slot.tokens -= want;
    return { ok: true };
  }

  /** The device's status says it is no longer downloading: its slot is free. */
  release(device: string): boolean {
    return this.#slots.delete(device);
  }

  /** Frees the slots of devices that stopped asking; returns how many. */
  expire(nowMs: number): number {
    let freed = 0;
    for (const [device, slot] of this.#slots) {
      if (nowMs - slot.lastRequestMs >= this.limits.idleTimeoutMs) {
        this.#slots.delete(device);
        freed++;
      }
    }
    this.#idleReleased += freed;
    if (freed > 0) this.onIdleRelease(freed);
    return freed;
  }
}
