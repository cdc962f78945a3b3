// Host side of a simulated device's app flash: two app slots (ota_0, ota_1 of the partition table in
// firmware/README.md) and the boot record, as ESP-IDF's otadata keeps it (active slot, pending
// verification, boot attempts). Kept by the host, so it outlives the worker: a reboot hands the same
// store to the next worker, as flash outlives a reset.
// - Slot bytes: NOR flash: erase(sector) sets 4 KB to 0xFF, write() can only clear bits (AND), each
//   write() call lands whole or (power cut) not at all; a cut between two calls leaves a partial
//   slot. The image in a slot is its bytes up to the first 0xFF (the simulator's image is bundle
//   text, which never contains 0xFF; the ESP32's image header says its length).
// - Boot record: replaced whole by one call (ESP-IDF writes otadata sectors with a sequence number
//   and CRC, so a cut leaves the old or the new record, never a mix).
// - Bootloader (boot()): a slot booted pending whose attempts are used up is marked invalid and the
//   other slot boots (CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE: one attempt).
// Host calls: flash.open/erase/write/read (Moddable "flash"), ota.running/activate/mark-valid/
// roll-back/restart (firmware/ota/native/boot-control.c's functions).
/** an app slot: what mcconfig's defines.ota.autosplit makes of the SDK's 4 MB factory partition (0x3F0000 - 8 KB otadata, halved, 64 KB aligned) */
export const SLOT_BYTES = 0x1f0000;
export const SECTOR_BYTES = 4096;
const ERASED = 0xff;

export type SlotIndex = 0 | 1;

export interface BootRecord {
  active: SlotIndex;
  /** the active slot was switched to and is not confirmed yet */
  pending: boolean;
  /** boots of the pending slot so far */
  attempts: number;
  /** slots a rollback marked invalid (the bootloader will not switch to them) */
  invalid: SlotIndex[];
}

export interface BootChoice {
  slot: SlotIndex;
  pending: boolean;
  image: Uint8Array;
  /** the bootloader gave up on the pending slot this boot */
  rolledBackFrom?: SlotIndex;
}

export class FlashStore {
  /** a slot's bytes once erased or written (allocated then: a fleet that never updates keeps only its image) */
  readonly #slots: [Uint8Array | undefined, Uint8Array | undefined] = [undefined, undefined];
  /** what a slot holds before it is first erased or written: the image, then erased flash */
  readonly #initial: [Uint8Array, Uint8Array];
  #record: BootRecord = { active: 0, pending: false, attempts: 0, invalid: [] };
  /** slot and pending flag of the boot now running */
  running: { slot: SlotIndex; pending: boolean } = { slot: 0, pending: false };
  /** a roll-back or restart asked for a reboot (the runner does it after the current call) */
  rebootRequested: "" | "restart" | "roll-back" | "power-cut" = "";
  /** boot attempts the bootloader allows a pending image (ESP-IDF: 1) */
  maxBootAttempts = 1;
  /** what happened, in order (for tests): switches, confirms, rollbacks */
  readonly log: string[] = [];
  /** write() calls to app slots */
  writes = 0;
  /** an armed power cut: the `countdown`-th next host call of this op does not happen, nor anything after it */
  #cut: { op: string; countdown: number } | undefined;
  #poweredOff = false;

  constructor(image: Uint8Array) {
    if (image.length >= SLOT_BYTES) throw new Error(`flash: image of ${image.length} bytes does not fit a slot`);
    this.#initial = [image, new Uint8Array(0)];
  }

  get record(): Readonly<BootRecord> {
    return this.#record;
  }

  /** the image in a slot: its bytes up to the first erased byte (empty if none) */
  image(slot: SlotIndex): Uint8Array {
    const bytes = this.#slots[slot] ?? this.#initial[slot];
    const end = bytes.indexOf(ERASED);
    return bytes.subarray(0, end < 0 ? bytes.length : end);
  }

  /** the bootloader: picks the slot to run, updating the record as ESP-IDF's does */
  boot(): BootChoice {
    const record = this.#record;
    let rolledBackFrom: SlotIndex | undefined;
    if (record.pending) {
      if (record.attempts >= this.maxBootAttempts) {
        rolledBackFrom = record.active;
        this.#setRecord({ active: other(record.active), pending: false, attempts: 0, invalid: [...new Set([...record.invalid, record.active])] });
        this.log.push(`bootloader: slot ${rolledBackFrom} pending after ${this.maxBootAttempts} boot(s): rolled back to slot ${this.#record.active}`);
      } else {
        this.#setRecord({ ...record, attempts: record.attempts + 1 });
      }
    }
    this.rebootRequested = "";
    this.#poweredOff = false;
    const slot = this.#record.active;
    this.running = { slot, pending: this.#record.pending };
    return { slot, pending: this.#record.pending, image: this.image(slot), ...(rolledBackFrom === undefined ? {} : { rolledBackFrom }) };
  }

  /**
   * Arms a power cut at the `nth` next host call `op` ("flash.write", "flash.erase", "flash.read",
   * "ota.activate", "ota.mark-valid", ...; counted across reboots until it fires): that call and
   * everything after it in the same turn changes nothing (flash, boot record, and through the
   * runner the preference store), then the runner boots again.
   */
  cutPowerAt(op: string, nth = 1): void {
    if (!Number.isInteger(nth) || nth < 1) throw new RangeError("flash: nth must be a positive integer");
    this.#cut = { op, countdown: nth };
  }

  /** a power cut is armed and has not fired yet */
  get cutArmed(): boolean {
    return this.#cut !== undefined;
  }

  /** power is off (a cut fired; the runner has not booted again yet): nothing the firmware does lands */
  get poweredOff(): boolean {
    return this.#poweredOff;
  }

  /** answers a firmware hostCall whose op starts with "flash." or "ota." */
  handle(message: Record<string, unknown> & { op: string }): { handled: boolean; value?: unknown } {
    if (this.#cut && this.#cut.op === message.op && --this.#cut.countdown === 0) {
      this.#cut = undefined;
      this.#poweredOff = true;
      this.rebootRequested = "power-cut";
      this.log.push(`power cut at ${message.op}`);
    }
    if (this.#poweredOff && (message.op.startsWith("flash.") || message.op.startsWith("ota."))) {
      // the call never completes: reads answer erased bytes, the rest does nothing
      if (message.op === "flash.read") return { handled: true, value: "ff".repeat(Math.max(0, Number(message.byteLength) || 0)) };
      if (message.op === "ota.running") return { handled: true, value: this.running.slot | (this.running.pending ? 2 : 0) };
      if (message.op === "flash.open") return { handled: true, value: { slot: other(this.running.slot), byteLength: SLOT_BYTES, blockSize: SECTOR_BYTES } };
      return { handled: true };
    }
    const next = other(this.running.slot);
    switch (message.op) {
      case "flash.open": {
        const partition = String(message.partition);
        if (partition !== "nextota" && partition !== "running") return { handled: true, value: { fail: "can't find partition" } };
        return { handled: true, value: { slot: partition === "running" ? this.running.slot : next, byteLength: SLOT_BYTES, blockSize: SECTOR_BYTES } };
      }
      case "flash.erase": {
        const slot = this.#writableSlot(message.slot);
        if (slot === undefined) return { handled: true, value: { fail: "erase failed (running app slot)" } };
        const sector = Number(message.sector);
        if (!Number.isInteger(sector) || sector < 0 || (sector + 1) * SECTOR_BYTES > SLOT_BYTES) return { handled: true, value: { fail: "erase failed" } };
        this.#bytes(slot).fill(ERASED, sector * SECTOR_BYTES, (sector + 1) * SECTOR_BYTES);
        return { handled: true };
      }
      case "flash.write": {
        const slot = this.#writableSlot(message.slot);
        if (slot === undefined) return { handled: true, value: { fail: "write failed (running app slot)" } };
        const offset = Number(message.offset);
        const bytes = Buffer.from(String(message.hex), "hex");
        if (!Number.isInteger(offset) || offset < 0 || offset + bytes.length > SLOT_BYTES) return { handled: true, value: { fail: "invalid" } };
        const target = this.#bytes(slot);
        for (let i = 0; i < bytes.length; i++) target[offset + i]! &= bytes[i]!;
        this.writes++;
        return { handled: true };
      }
      case "flash.read": {
        const slot = Number(message.slot) === 1 ? 1 : 0;
        const offset = Number(message.offset);
        const length = Number(message.byteLength);
        if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > SLOT_BYTES) return { handled: true, value: { fail: "read failed" } };
        const bytes = this.#slots[slot];
        if (bytes) return { handled: true, value: Buffer.from(bytes.subarray(offset, offset + length)).toString("hex") };
        const out = Buffer.alloc(length, ERASED);
        const initial = this.#initial[slot];
        if (offset < initial.length) out.set(initial.subarray(offset, Math.min(initial.length, offset + length)));
        return { handled: true, value: out.toString("hex") };
      }
      case "ota.running":
        return { handled: true, value: this.running.slot | (this.running.pending ? 2 : 0) };
      case "ota.activate": {
        // esp_ota_set_boot_partition verifies the image first; here: the slot holds one
        if (this.image(next).length === 0) return { handled: true, value: { fail: "ota: set boot partition failed (image invalid)" } };
        this.#setRecord({ active: next, pending: true, attempts: 0, invalid: this.#record.invalid.filter((slot) => slot !== next) });
        this.log.push(`switch: slot ${next} pending`);
        return { handled: true };
      }
      case "ota.mark-valid":
        if (this.#record.pending && this.#record.active === this.running.slot) {
          this.#setRecord({ ...this.#record, pending: false, attempts: 0 });
          this.log.push(`confirm: slot ${this.running.slot}`);
        }
        this.running = { ...this.running, pending: false };
        return { handled: true };
      case "ota.roll-back":
        if (!this.running.pending) return { handled: true, value: { fail: "ota: rollback failed (running image is not pending)" } };
        this.#setRecord({ active: next, pending: false, attempts: 0, invalid: [...new Set([...this.#record.invalid, this.running.slot])] });
        this.log.push(`roll-back: slot ${this.running.slot} invalid, slot ${next} next`);
        this.rebootRequested = "roll-back";
        return { handled: true };
      case "ota.restart":
        this.rebootRequested ||= "restart";
        return { handled: true };
      default:
        return { handled: false };
    }
  }

  #bytes(slot: SlotIndex): Uint8Array {
    let bytes = this.#slots[slot];
    if (!bytes) {
      bytes = new Uint8Array(SLOT_BYTES).fill(ERASED);
      bytes.set(this.#initial[slot]);
      this.#slots[slot] = bytes;
    }
    return bytes;
  }

  #setRecord(record: BootRecord): void {
    this.#record = record;
  }

  /** the slot, unless it is the running one (ESP-IDF refuses to write the running app) */
  #writableSlot(value: unknown): SlotIndex | undefined {
    const slot: SlotIndex = Number(value) === 1 ? 1 : 0;
    return slot === this.running.slot ? undefined : slot;
  }
}

function other(slot: SlotIndex): SlotIndex {
  return slot === 0 ? 1 : 0;
}
