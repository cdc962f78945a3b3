// Each device's update state as its status messages report it (fw, sl, os, ot, op, oe), for
// /ota/status, `vibewatch ota status`, `--all` offers and the outcome counters. Status is retained
// on the broker, so a restarted gateway re-learns every device's state on subscribe; such a
// replayed (retained) message updates the state but is never counted as a new outcome.
//
// Bound: at most `maxDevices` devices are tracked; a status from one more is counted and ignored.
import type { Status, Will } from "../../protocol/messages.js";
import type { OtaState } from "../../protocol/ota.js";

export interface DeviceOtaState {
  device: string;
  online: boolean;
  boot: number;
  /** running firmware version */
  fw?: string;
  slot?: 0 | 1;
  state?: OtaState;
  /** the release the state is about */
  target?: string;
  /** bytes of the target image written */
  progressBytes?: number;
  error?: string;
  lastSeenMs: number;
}

export interface OtaTransition {
  device: string;
  from: OtaState | undefined;
  to: OtaState;
  target: string | undefined;
  error: string | undefined;
}

export class OtaStateTracker {
  readonly #devices = new Map<string, DeviceOtaState>();
  #untracked = 0;

  constructor(readonly maxDevices: number) {}

  /** statuses of devices beyond maxDevices, ignored */
  get untracked(): number {
    return this.#untracked;
  }

  get size(): number {
    return this.#devices.size;
  }

  get(device: string): DeviceOtaState | undefined {
    return this.#devices.get(device);
  }

  list(): DeviceOtaState[] {
    return [...this.#devices.values()].sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : 0));
  }

  /**
   * Takes one status (or Last Will) of `device`. Returns the OTA transition it reports, if it is
   * live (not a retained replay) and changes the device's (state, target).
   */
  update(device: string, message: Status | Will, retained: boolean, nowMs: number): OtaTransition | null {
    let entry = this.#devices.get(device);
    if (!entry) {
      if (this.#devices.size >= this.maxDevices) {
        this.#untracked++;
        return null;
      }
      entry = { device, online: false, boot: message.b, lastSeenMs: nowMs };
      this.#devices.set(device, entry);
    }
    entry.lastSeenMs = nowMs;
    entry.boot = message.b;
    if (!("s" in message)) {
      entry.online = false; // the Last Will: the rest is what the device said last
      return null;
    }
    const before = { state: entry.state, target: entry.target };
    entry.online = message.o;
    entry.fw = message.fw;
    set(entry, "slot", message.sl);
    set(entry, "state", message.os);
    set(entry, "target", message.ot);
    set(entry, "progressBytes", message.op);
    set(entry, "error", message.oe);
    if (retained || message.os === undefined) return null;
    if (before.state === message.os && before.target === message.ot) return null;
    return { device, from: before.state, to: message.os, target: message.ot, error: message.oe };
  }
}

/** Sets or clears an optional field: a status without it means the device has none now. */
function set<K extends "slot" | "state" | "target" | "progressBytes" | "error">(entry: DeviceOtaState, key: K, value: DeviceOtaState[K] | undefined): void {
  if (value === undefined) delete entry[key];
  else entry[key] = value;
}
