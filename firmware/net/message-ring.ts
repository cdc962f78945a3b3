// Store-and-forward ring of encoded messages, in RAM, bounded by a message count and a byte total.
//
// Every message stays here until the broker's PUBACK for it (at-least-once): a message that was
// sent but not acknowledged when the connection dropped is sent again after the reconnect.
// Two lanes, drained in this order:
//   1. priority: alerts and status (few, small, must not wait behind a telemetry backlog);
//   2. telemetry: oldest first.
// Each lane keeps its own order, so per topic the broker sees sequence numbers in order.
// Full-ring policy (every drop is counted in `dropped`, which status reports as "x"):
//   - drop the oldest telemetry that is not in flight;
//   - if there is none, a new telemetry message is itself dropped;
//   - a priority message drops the oldest priority message not in flight only when the ring
//     holds no droppable telemetry at all (alerts are kept as long as anything else can go).
// In-flight messages are never dropped: the broker may already hold them, and counting them as
// lost would make "dropped" disagree with what arrives downstream.

export type RingLane = "priority" | "telemetry";

export interface RingEntry {
  /** the encoded message; its .buffer is exactly the message (what MQTT write() sends) */
  readonly bytes: Uint8Array;
  readonly topic: string;
  readonly retain: boolean;
  readonly lane: RingLane;
  /** MQTT packet id while in flight, 0 when waiting to be sent */
  packetId: number;
}

export interface MessageRingOptions {
  /** most messages held at once (both lanes) */
  capacityMessages: number;
  /** most payload bytes held at once (both lanes) */
  capacityBytes: number;
}

export class MessageRing {
  readonly #priority: RingEntry[] = [];
  readonly #telemetry: RingEntry[] = [];
  #capacityMessages: number;
  #capacityBytes: number;
  #bytes = 0;
  #dropped = 0;
  #rejected = 0;

  constructor(options: MessageRingOptions) {
    this.#capacityMessages = checkCapacity("capacityMessages", options.capacityMessages);
    this.#capacityBytes = checkCapacity("capacityBytes", options.capacityBytes);
  }

  /** messages held (waiting or in flight) */
  get depth(): number {
    return this.#priority.length + this.#telemetry.length;
  }

  get byteLength(): number {
    return this.#bytes;
  }

  /** every message held, priority lane first, each lane oldest first (a snapshot, for diagnostics) */
  entries(): RingEntry[] {
    return [...this.#priority, ...this.#telemetry];
  }

  /** messages dropped since boot to make room (and new ones that found no room) */
  get dropped(): number {
    return this.#dropped;
  }

  /** messages refused because one alone exceeds capacityBytes (also counted in dropped) */
  get rejected(): number {
    return this.#rejected;
  }

  get inflight(): number {
    let count = 0;
    for (const entry of this.#priority) if (entry.packetId) count++;
    for (const entry of this.#telemetry) if (entry.packetId) count++;
    return count;
  }

  /**
   * Adds a message (copied, so the caller may reuse its encoder buffer).
   * Returns false when the message itself was dropped (counted).
   */
  push(lane: RingLane, topic: string, bytes: Uint8Array, retain = false): boolean {
    if (bytes.length > this.#capacityBytes) {
      this.#dropped++;
      this.#rejected++;
      return false;
    }
    while (this.depth + 1 > this.#capacityMessages || this.#bytes + bytes.length > this.#capacityBytes) {
      if (!this.#dropOldest(this.#telemetry)) {
        if (lane === "telemetry" || !this.#dropOldest(this.#priority)) {
          this.#dropped++;
          return false;
        }
      }
    }
    const entry: RingEntry = { bytes: bytes.slice(), topic, retain, lane, packetId: 0 };
    (lane === "priority" ? this.#priority : this.#telemetry).push(entry);
    this.#bytes += bytes.length;
    return true;
  }

  /** The next message to send: the first waiting priority message, else the first waiting telemetry. */
  next(): RingEntry | undefined {
    return firstWaiting(this.#priority) ?? firstWaiting(this.#telemetry);
  }

  markSent(entry: RingEntry, packetId: number): void {
    entry.packetId = packetId;
  }

  /** the in-flight message sent with `packetId`, if any (read before acknowledge()) */
  inflightEntry(packetId: number): RingEntry | undefined {
    for (const entry of this.#priority) if (entry.packetId === packetId) return entry;
    for (const entry of this.#telemetry) if (entry.packetId === packetId) return entry;
    return undefined;
  }

  /** messages waiting to be sent (not in flight) */
  get waiting(): number {
    return this.depth - this.inflight;
  }

  /** The broker acknowledged `packetId`: the message is delivered and leaves the ring. */
  acknowledge(packetId: number): boolean {
    return this.#remove(this.#priority, packetId) || this.#remove(this.#telemetry, packetId);
  }

  /** The connection dropped: every in-flight message waits to be sent again, in its old place. */
  requeueInflight(): void {
    for (const entry of this.#priority) entry.packetId = 0;
    for (const entry of this.#telemetry) entry.packetId = 0;
  }

  /** New bounds (remote config); shrinking drops by the same policy on the next push. */
  resize(options: MessageRingOptions): void {
    this.#capacityMessages = checkCapacity("capacityMessages", options.capacityMessages);
    this.#capacityBytes = checkCapacity("capacityBytes", options.capacityBytes);
  }

  #dropOldest(lane: RingEntry[]): boolean {
    for (let i = 0; i < lane.length; i++) {
      const entry = lane[i] as RingEntry;
      if (entry.packetId) continue;
      lane.splice(i, 1);
      this.#bytes -= entry.bytes.length;
      this.#dropped++;
      return true;
    }
    return false;
  }

  #remove(lane: RingEntry[], packetId: number): boolean {
    for (let i = 0; i < lane.length; i++) {
      const entry = lane[i] as RingEntry;
      if (entry.packetId !== packetId) continue;
      lane.splice(i, 1);
      this.#bytes -= entry.bytes.length;
      return true;
    }
    return false;
  }
}

function firstWaiting(lane: RingEntry[]): RingEntry | undefined {
  for (let i = 0; i < lane.length; i++) {
    const entry = lane[i] as RingEntry;
    if (!entry.packetId) return entry;
  }
  return undefined;
}

function checkCapacity(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`message ring: ${name} must be a positive integer, got ${value}`);
  return value;
}
