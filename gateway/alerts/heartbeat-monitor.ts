// Offline detection: a device that sends nothing for `missed` x its heartbeat interval is marked
// offline (event "offline"), and back online (event "online") when it is heard from again. Its
// Last Will (status o:false, published by the broker when the device vanishes) marks it offline
// at once. Any message counts as a sign of life, not only status.

/** Devices tracked at most; beyond, the one silent longest is forgotten (counted in `forgotten`). */
const MAX_DEVICES = 100_000;

export type PresenceEvent = { device: string; event: "offline" | "online"; detail: string };

export class HeartbeatMonitor {
  #lastSeenMs = new Map<string, number>();
  #offline = new Set<string>();
  forgotten = 0;

  constructor(
    private readonly intervalS: number,
    private readonly missed: number,
    private readonly nowMs: () => number = () => Date.now(),
  ) {}

  /** A message from `device`; returns an "online" event when it was offline. */
  seen(device: string): PresenceEvent | null {
    this.#touch(device);
    if (this.#offline.delete(device)) return { device, event: "online", detail: "heard from again" };
    return null;
  }

  /** The device's Last Will arrived. */
  will(device: string): PresenceEvent | null {
    this.#touch(device);
    if (this.#offline.has(device)) return null;
    this.#offline.add(device);
    return { device, event: "offline", detail: "last will" };
  }

  #touch(device: string): void {
    // re-insert: Map order = least recently heard first
    this.#lastSeenMs.delete(device);
    this.#lastSeenMs.set(device, this.nowMs());
    if (this.#lastSeenMs.size > MAX_DEVICES) {
      const oldest = this.#lastSeenMs.keys().next().value as string;
      this.#lastSeenMs.delete(oldest);
      this.#offline.delete(oldest);
      this.forgotten++;
    }
  }

  /** Devices whose heartbeats stopped since the last check. */
  check(): PresenceEvent[] {
    const limitMs = this.intervalS * this.missed * 1000;
    const now = this.nowMs();
    const events: PresenceEvent[] = [];
    for (const [device, lastMs] of this.#lastSeenMs) {
      if (!this.#offline.has(device) && now - lastMs > limitMs) {
        this.#offline.add(device);
        events.push({ device, event: "offline", detail: `no message for ${Math.round((now - lastMs) / 1000)} s` });
      }
    }
    return events;
  }

  get onlineCount(): number {
    return this.#lastSeenMs.size - this.#offline.size;
  }

  isOffline(device: string): boolean {
    return this.#offline.has(device);
  }
}
