// The device's store-and-forward ring (firmware/net/message-ring.ts). Guards against: a message
// leaving before its PUBACK, in-flight messages lost on a disconnect, alerts stuck behind a
// telemetry backlog, alerts dropped while telemetry could go, and drops that are not counted.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { MessageRing, type RingLane } from "../../firmware/net/message-ring.js";

const message = (id: number, size = 10) => {
  const bytes = new Uint8Array(size);
  bytes[0] = id & 0xff;
  bytes[1] = id >> 8;
  return bytes;
};
const idOf = (bytes: Uint8Array) => bytes[0]! | (bytes[1]! << 8);

/** sends and acknowledges everything, returning the ids in the order they left */
function drain(ring: MessageRing): number[] {
  const out: number[] = [];
  let packet = 1;
  for (let entry = ring.next(); entry; entry = ring.next()) {
    ring.markSent(entry, packet);
    out.push(idOf(entry.bytes));
    expect(ring.acknowledge(packet)).toBe(true);
    packet++;
  }
  return out;
}

describe("message ring", () => {
  it("keeps a sent message until its PUBACK and sends it again after a disconnect", () => {
    const ring = new MessageRing({ capacityMessages: 8, capacityBytes: 1000 });
    ring.push("telemetry", "t", message(1));
    ring.push("telemetry", "t", message(2));
    const first = ring.next()!;
    ring.markSent(first, 11);
    expect(idOf(ring.next()!.bytes)).toBe(2);
    ring.requeueInflight();
    expect(ring.depth).toBe(2);
    expect(idOf(ring.next()!.bytes)).toBe(1);
    expect(ring.acknowledge(99)).toBe(false);
    expect(ring.depth).toBe(2);
  });

  it("drains alerts and status before an older telemetry backlog, each lane in order", () => {
    const ring = new MessageRing({ capacityMessages: 16, capacityBytes: 1000 });
    for (let i = 1; i <= 5; i++) ring.push("telemetry", "t", message(i));
    ring.push("priority", "a", message(100));
    ring.push("telemetry", "t", message(6));
    ring.push("priority", "a", message(101));
    expect(drain(ring)).toEqual([100, 101, 1, 2, 3, 4, 5, 6]);
  });

  it("drops the oldest telemetry when full, keeps alerts, and counts every drop", () => {
    const ring = new MessageRing({ capacityMessages: 4, capacityBytes: 1000 });
    ring.push("priority", "a", message(100));
    for (let i = 1; i <= 6; i++) ring.push("telemetry", "t", message(i));
    expect(ring.dropped).toBe(3);
    expect(drain(ring)).toEqual([100, 4, 5, 6]);
  });

  it("never drops an in-flight message (the broker may have it): the newest telemetry goes instead", () => {
    const ring = new MessageRing({ capacityMessages: 2, capacityBytes: 1000 });
    ring.push("telemetry", "t", message(1));
    ring.push("telemetry", "t", message(2));
    ring.markSent(ring.next()!, 1);
    ring.markSent(ring.next()!, 2);
    expect(ring.push("telemetry", "t", message(3))).toBe(false);
    expect(ring.dropped).toBe(1);
    expect(ring.acknowledge(1) && ring.acknowledge(2)).toBe(true);
  });

  it("bounds bytes as well as messages, and refuses a message larger than the whole ring", () => {
    const ring = new MessageRing({ capacityMessages: 100, capacityBytes: 50 });
    for (let i = 1; i <= 6; i++) ring.push("telemetry", "t", message(i, 10));
    expect(ring.byteLength).toBeLessThanOrEqual(50);
    expect(ring.dropped).toBe(1);
    expect(ring.push("priority", "a", message(200, 51))).toBe(false);
    expect(ring.rejected).toBe(1);
    expect(ring.dropped).toBe(2);
  });

  it("a priority message makes room from older priority messages only when no telemetry can go", () => {
    const ring = new MessageRing({ capacityMessages: 2, capacityBytes: 1000 });
    ring.push("priority", "a", message(100));
    ring.push("priority", "a", message(101));
    ring.push("priority", "a", message(102));
    expect(ring.dropped).toBe(1);
    expect(drain(ring)).toEqual([101, 102]);
  });

  it("for any sequence of pushes, sends and disconnects: delivered + dropped + held = pushed, lanes in order", () => {
    type Op = { kind: "push"; lane: RingLane } | { kind: "send" } | { kind: "ack" } | { kind: "drop-connection" };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.constantFrom<RingLane>("priority", "telemetry", "telemetry", "telemetry").map((lane) => ({ kind: "push", lane }) as Op),
      fc.constant({ kind: "send" } as Op),
      fc.constant({ kind: "ack" } as Op),
      fc.constant({ kind: "drop-connection" } as Op),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), fc.integer({ min: 1, max: 12 }), (ops, capacity) => {
        const ring = new MessageRing({ capacityMessages: capacity, capacityBytes: 100_000 });
        let next = 0;
        let packet = 0;
        const inflight: number[] = [];
        const packetToId = new Map<number, number>();
        const delivered = new Map<RingLane, number[]>([["priority", []], ["telemetry", []]]);
        const idLane = new Map<number, RingLane>();
        for (const step of ops) {
          if (step.kind === "push") {
            idLane.set(next, step.lane);
            ring.push(step.lane, step.lane, message(next++));
          } else if (step.kind === "send") {
            const entry = ring.next();
            if (entry) {
              ring.markSent(entry, ++packet);
              inflight.push(packet);
              packetToId.set(packet, idOf(entry.bytes));
            }
          } else if (step.kind === "ack") {
            const id = inflight.shift();
            if (id !== undefined && ring.acknowledge(id)) {
              const messageId = packetToId.get(id)!;
              delivered.get(idLane.get(messageId)!)!.push(messageId);
            }
          } else {
            ring.requeueInflight();
            inflight.length = 0;
          }
        }
        const held = ring.depth;
        ring.requeueInflight();
        const rest = drain(ring);
        for (const id of rest) delivered.get(idLane.get(id)!)!.push(id);
        for (const ids of delivered.values()) expect(ids).toEqual([...ids].sort((a, b) => a - b));
        expect(rest.length).toBe(held);
        const deliveredCount = delivered.get("priority")!.length + delivered.get("telemetry")!.length;
        expect(deliveredCount + ring.dropped).toBe(next);
        expect(ring.depth).toBe(0);
        expect(ring.byteLength).toBe(0);
      }),
      { numRuns: 500, seed: 3 },
    );
  });
});
