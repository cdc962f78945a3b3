// The lease ledger: which records are in a batch in flight, in memory only. Leases are not
// durable by design: after a restart every record is pending again and is resent (the cloud
// stores idempotently), so a crash can duplicate a send but never lose a record.
//
// Per priority class (0: droppable, 1: alerts/events) a cursor holds the largest id handed out
// since open; a release rewinds it, so every pending record of a class has an id above it.

export class LeaseLedger {
  readonly #bytesById = new Map<number, number>();
  readonly #priorityIds = new Set<number>();
  /** payload bytes of the leased records */
  bytes = 0;
  /** leased alerts/events */
  priority = 0;
  /** the largest id handed out per priority class, rewound by a release */
  readonly cursor = [0, 0];

  get size(): number {
    return this.#bytesById.size;
  }

  has(id: number): boolean {
    return this.#bytesById.has(id);
  }

  /** the leased record's bytes, or undefined when it is not leased */
  bytesOf(id: number): number | undefined {
    return this.#bytesById.get(id);
  }

  take(id: number, bytes: number, priority: boolean): void {
    this.#bytesById.set(id, bytes);
    this.bytes += bytes;
    if (priority) {
      this.priority++;
      this.#priorityIds.add(id);
    }
  }

  /** Ends a lease (the record was deleted or given back); true when it was an alert/event. */
  end(id: number): boolean {
    const bytes = this.#bytesById.get(id);
    if (bytes === undefined) return false;
    this.#bytesById.delete(id);
    this.bytes -= bytes;
    if (!this.#priorityIds.delete(id)) return false;
    this.priority--;
    return true;
  }

  /** After a release of `id` of class `prio`: it is leased again, in order. */
  rewind(prio: number, id: number): void {
    this.cursor[prio] = Math.min(this.cursor[prio] as number, id - 1);
  }
}
