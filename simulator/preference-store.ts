// Host side of the simulated Moddable "preference" (firmware/sim/host/preference.ts): one store per
// simulated device, kept by the host so it outlives a worker. A simulated reboot hands the same
// store to the device's next worker, as NVS flash outlives a reset. Counts writes (flash wear).
export type PreferenceWire = { t: "s"; v: string } | { t: "b"; v: boolean } | { t: "n"; v: number } | { t: "a"; v: number[] };

export class PreferenceStore {
  readonly #values = new Map<string, PreferenceWire>();
  /** set() calls since the store was made: the firmware must write only on change */
  writes = 0;

  /** answers a firmware hostCall whose op starts with "pref." */
  handle(message: Record<string, unknown> & { op: string }): { handled: boolean; value?: unknown } {
    const key = `${String(message.domain)}\u0000${String(message.key)}`;
    switch (message.op) {
      case "pref.get":
        return { handled: true, value: this.#values.get(key) ?? null };
      case "pref.set":
        this.writes++;
        this.#values.set(key, message.value as PreferenceWire);
        return { handled: true };
      case "pref.delete":
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
