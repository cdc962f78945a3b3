// Host side of the simulated Moddable "preference" (firmware/sim/host/preference.ts): one store per
// simulated device, kept by the host so it outlives a worker. A simulated reboot hands the same
// store to the device's next worker, as NVS flash outlives a reset. Counts writes (flash wear).
// A test can make flash fail on a running device (failWrites, failReads): the firmware's
// Preference call then throws the ESP32's own error text (modPreference.c), and a failed set
// leaves the key erased, as on the ESP32, whose set erases the key before it writes.
export type PreferenceWire = { t: "s"; v: string } | { t: "b"; v: boolean } | { t: "n"; v: number } | { t: "a"; v: number[] };

/** the texts the Moddable SDK's ESP32 Preference throws (modules/files/preference/esp32/modPreference.c) */
export const NVS_ERRORS = { set: "nvs set fail", get: "nvs get fail", erase: "nvs erase fail" } as const;

export class PreferenceStore {
  readonly #values = new Map<string, PreferenceWire>();
  /** set() calls that stored a value since the store was made: the firmware must write only on change */
  writes = 0;
  /** flash refuses writes (a full or worn NVS partition): set() throws "nvs set fail", delete() "nvs erase fail" */
  failWrites = false;
  /** flash refuses reads: get() throws "nvs get fail" */
  failReads = false;
  /** set() and delete() calls refused while failWrites was on */
  failedWrites = 0;
  /** get() calls refused while failReads was on */
  failedReads = 0;

  /** answers a firmware hostCall whose op starts with "pref." */
  handle(message: Record<string, unknown> & { op: string }): { handled: boolean; value?: unknown } {
    const key = `${String(message.domain)}\u0000${String(message.key)}`;
    switch (message.op) {
      case "pref.get":
        if (this.failReads) {
          this.failedReads++;
          return { handled: true, value: { fail: NVS_ERRORS.get } };
        }
        return { handled: true, value: this.#values.get(key) ?? null };
      case "pref.set":
        if (this.failWrites) {
          this.failedWrites++;
          this.#values.delete(key); // the ESP32's set erases the key first, then fails to write
          return { handled: true, value: { fail: NVS_ERRORS.set } };
        }
        this.writes++;
        this.#values.set(key, message.value as PreferenceWire);
        return { handled: true };
      case "pref.delete":
        if (this.failWrites) {
          this.failedWrites++;
          return { handled: true, value: { fail: NVS_ERRORS.erase } };
        }
        this.#values.delete(key);
        return { handled: true };
      case "pref.keys": {
        const prefix = `${String(message.domain)}\u0000`;
        return { handled: true, value: [...this.#values.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length)) };
      }
      default:
        return { handled: false };
    }
  }

  /** the stored bytes of an ArrayBuffer value (for tests), or undefined */
  bytes(domain: string, key: string): Uint8Array | undefined {
    const wire = this.#values.get(`${domain}\u0000${key}`);
    return wire?.t === "a" ? Uint8Array.from(wire.v) : undefined;
  }
}
