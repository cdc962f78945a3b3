// What the OTA agent keeps in flash (Moddable Preference, NVS on the ESP32), domain "vwota". Few
// keys, each written only when it changes (NVS wears), so a whole update costs a handful of writes:
//   floor  anti-rollback floor ("major.minor.patch"): raised when a release is confirmed
//   pend   the image switched to and not yet confirmed: "rv|slot|mn" (written just before the switch)
//   why    why a pending image gave up (written by that image just before it rolls back)
//   dl     download checkpoint for resuming after a power cut: "rv|hashHex|offset" (every 64 KB)
//   out    the last outcome, reported in status: "state|rv|reason"
// The boot record itself (active slot, pending flag) is the bootloader's (ESP-IDF otadata), not ours.
// Flash failures never throw out of here: a lost write costs a retry or a report, never the device.
import type { PreferenceStore } from "../config/device-config.js";
import type { OtaState } from "../../protocol/ota.js";

const DOMAIN = "vwota";

export interface PendingMarker {
  rv: string;
  slot: 0 | 1;
  /** the release's anti-rollback floor, applied on confirm */
  mn: string;
}

export interface DownloadCheckpoint {
  rv: string;
  hashHex: string;
  offset: number;
}

export interface Outcome {
  state: OtaState;
  rv: string;
  reason: string;
}

export class BootState {
  readonly #preferences: PreferenceStore;
  /** Preference calls that threw (NVS refused) */
  failures = 0;
  /** values written (flash wear) */
  writes = 0;

  constructor(preferences: PreferenceStore) {
    this.#preferences = preferences;
  }

  get floor(): string {
    return this.#read("floor") ?? "0.0.0";
  }

  set floor(version: string) {
    this.#write("floor", version);
  }

  get pending(): PendingMarker | undefined {
    const parts = this.#read("pend")?.split("|");
    if (!parts || parts.length !== 3) return undefined;
    return { rv: parts[0]!, slot: parts[1] === "1" ? 1 : 0, mn: parts[2]! };
  }

  set pending(marker: PendingMarker | undefined) {
    this.#write("pend", marker ? `${marker.rv}|${marker.slot}|${marker.mn}` : undefined);
  }

  get why(): string | undefined {
    return this.#read("why");
  }

  set why(reason: string | undefined) {
    this.#write("why", reason);
  }

  get checkpoint(): DownloadCheckpoint | undefined {
    const parts = this.#read("dl")?.split("|");
    if (!parts || parts.length !== 3) return undefined;
    const offset = Number(parts[2]);
    return Number.isInteger(offset) && offset >= 0 ? { rv: parts[0]!, hashHex: parts[1]!, offset } : undefined;
  }

  set checkpoint(checkpoint: DownloadCheckpoint | undefined) {
    this.#write("dl", checkpoint ? `${checkpoint.rv}|${checkpoint.hashHex}|${checkpoint.offset}` : undefined);
  }

  get outcome(): Outcome | undefined {
    const text = this.#read("out");
    if (!text) return undefined;
    const first = text.indexOf("|");
    const second = text.indexOf("|", first + 1);
    if (first < 0 || second < 0) return undefined;
    return { state: text.slice(0, first) as OtaState, rv: text.slice(first + 1, second), reason: text.slice(second + 1) };
  }

  set outcome(outcome: Outcome | undefined) {
    this.#write("out", outcome ? `${outcome.state}|${outcome.rv}|${outcome.reason}` : undefined);
  }

  #read(key: string): string | undefined {
    try {
      const value = this.#preferences.get(DOMAIN, key);
      return typeof value === "string" ? value : undefined;
    } catch {
      this.failures++;
      return undefined;
    }
  }

  #write(key: string, value: string | undefined): void {
    if (this.#read(key) === value) return;
    try {
      if (value === undefined) this.#preferences.delete(DOMAIN, key);
      else this.#preferences.set(DOMAIN, key, value);
      this.writes++;
    } catch {
      this.failures++;
    }
  }
}
