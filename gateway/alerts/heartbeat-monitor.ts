// Offline detection: a device that sends nothing for `missed` x its heartbeat interval is marked
// offline (event "offline"), and back online (event "online") when it is heard from again. Its
// Last Will (status o:false, published by the broker when the device vanishes) marks it offline
// at once. Any message counts as a sign of life, not only status.
//
// Bound (limits.maxDevices): at most `maxDevices` devices are tracked, so made-up device ids cannot
// grow the map, the online gauge and the offline events without end (issue 14). A device first heard
// while the map is full takes the place of the one silent longest if that one is offline (counted
// in `forgotten`); otherwise it is not tracked (counted in `untracked`, one per message): its
// messages are stored and forwarded as any other, it only gets no presence events.

/** Devices tracked at most by default (limits.maxDevices). */
export const DEFAULT_MAX_DEVICES = 10_000;

export type PresenceEvent = { device: string; event: "offline" | "online"; detail: string };

export class HeartbeatMonitor {
  #lastSeenMs = new Map<string, number>();
  #offline = new Set<string>();
  /** offline devices dropped to make room for a new one */
  forgotten = 0;
  /** messages of devices not tracked because `maxDevices` devices were tracked */
  untracked = 0;

  constructor(
    private readonly intervalS: number,
    private readonly missed: number,
    private readonly nowMs: () => number = () => Date.now(),
    readonly maxDevices = DEFAULT_MAX_DEVICES,
  ) {}

  /** A message from `device`; returns an "online" event when it was offline. */
  seen(device: string): PresenceEvent | null {
    if (!this.#touch(device)) return null;
    if (this.#offline.delete(device)) return { device, event: "online", detail: "heard from again" };
    return null;
  }

  /** The device's Last Will arrived. */
  will(device: string): PresenceEvent | null {
    if (!this.#touch(device)) return null;
    if (this.#offline.has(device)) return null;
    this.#offline.add(device);
    return { device, event: "offline", detail: "last will" };
  }

  /** Records a sign of life; false when the device is not tracked (the bound). */
  #touch(device: string): boolean {
    // re-insert: Map order = least recently heard first
    if (!this.#lastSeenMs.delete(device) && this.#lastSeenMs.size >= this.maxDevices) {
      const oldest = this.#lastSeenMs.keys().next().value as string;
      if (!this.#offline.has(oldest)) {
        this.untracked++;
        return false;
      }
      this.#lastSeenMs.delete(oldest);
      this.#offline.delete(oldest);
      this.forgotten++;
    }
    this.#lastSeenMs.set(device, this.nowMs());
    return true;
  }

  /** Devices whose heartbeats stopped since the last check. */
  check(): PresenceEvent[] {
    const limitMs = this.intervalS * this.missed * 1000;
    const now = this.nowMs();
    const events: PresenceEvent[] = [];
    for (const [device, lastMs] of this.#lastSeenMs) {
      // least recently heard first: the rest were heard more recently than this one
      if (now - lastMs <= limitMs) break;
      if (!this.#offline.has(device)) {
        this.#offline.add(device);
        events.push({ device, event: "offline", detail: `no message for ${Math.round((now - lastMs) / 1000)} s` });
      }
    }
    return events;
  }

  /** Devices tracked (online or offline), at most `maxDevices`. */
  get trackedCount(): number {
    return this.#lastSeenMs.size;
  }

  get onlineCount(): number {
    return this.#lastSeenMs.size - this.#offline.size;
  }

  isOffline(device: string): boolean {
    return this.#offline.has(device);
  }
}
