// Issue 15: the policy of the site's download slots and of each device's byte budget, as a plain
// function of time (gateway/ota/download-slots.ts), checked against a reference model over random
// operation sequences (fast-check): never more slots than the limit, a device without a slot is
// always told to wait (never refused), the idle timeout frees, and no device gets more bytes in a
// window than its burst plus its rate allow.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { DownloadSlots, type SlotLimits } from "../../gateway/ota/download-slots.js";

const limits: SlotLimits = { maxConcurrent: 3, idleTimeoutMs: 1000, bytesPerS: 1000, burstBytes: 2000, busyRetryMs: 100 };

describe("download slots", () => {
  it("admits up to the limit, tells the next to wait (with jitter in [w, 1.5 w]), and frees on release", () => {
    const slots = new DownloadSlots(limits, () => 1);
    for (const device of ["a", "b", "c"]) expect(slots.admit(device, 1, 500, 0)).toEqual({ ok: true });
    expect(slots.admit("d", 1, 500, 0)).toEqual({ ok: false, cause: "slots", retryAfterMs: 150 });
    expect(slots.release("b")).toBe(true);
    expect(slots.admit("d", 1, 500, 1)).toEqual({ ok: true });
    expect(slots.held).toBe(3);
  });

  it("frees a silent device's slot after the idle timeout, and a new boot keeps its device's slot", () => {
    let freed = 0;
    const slots = new DownloadSlots(limits, () => 0, (n) => (freed += n));
    slots.admit("a", 1, 500, 0);
    slots.admit("b", 1, 500, 0);
    slots.admit("c", 1, 500, 600);
    expect(slots.admit("d", 1, 500, 999).ok).toBe(false);
    expect(slots.admit("d", 1, 500, 1000).ok).toBe(true); // a and b idle for 1000 ms
    expect(freed).toBe(2);
    expect(slots.admit("c", 2, 500, 1100).ok).toBe(true); // c rebooted mid-download: same slot
    expect(slots.devices().sort()).toEqual(["c", "d"]);
  });

  it("bounds a device's bytes by its burst, then by its rate, telling it when to come back", () => {
    const slots = new DownloadSlots(limits);
    expect(slots.admit("a", 1, 1000, 0).ok).toBe(true);
    expect(slots.admit("a", 1, 1000, 0).ok).toBe(true);
    expect(slots.admit("a", 1, 1000, 0)).toEqual({ ok: false, cause: "rate", retryAfterMs: 1000 });
    expect(slots.admit("a", 1, 1000, 500)).toEqual({ ok: false, cause: "rate", retryAfterMs: 500 });
    expect(slots.admit("a", 1, 1000, 1000).ok).toBe(true);
  });

  it("matches a reference model over random sequences", () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("admit" as const), device: fc.integer({ min: 0, max: 5 }), bytes: fc.integer({ min: 1, max: 1024 }), advanceMs: fc.integer({ min: 0, max: 700 }) }),
      fc.record({ kind: fc.constant("release" as const), device: fc.integer({ min: 0, max: 5 }), advanceMs: fc.integer({ min: 0, max: 700 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const slots = new DownloadSlots(limits, () => 0.5);
        // the model: who holds a slot and when it last asked; bytes granted per device with their time
        const held = new Map<number, number>();
        const granted = new Map<number, Array<[number, number]>>();
        let now = 0;
        for (const o of ops) {
          now += o.advanceMs;
          if (o.kind === "release") {
            // a status frees the slot whether or not its idle time has run out
            expect(slots.release(`d${o.device}`)).toBe(held.delete(o.device));
            continue;
          }
          for (const [device, last] of held) if (now - last >= limits.idleTimeoutMs) held.delete(device);
          const result = slots.admit(`d${o.device}`, 1, o.bytes, now);
          if (!held.has(o.device) && held.size >= limits.maxConcurrent) {
            expect(result).toEqual({ ok: false, cause: "slots", retryAfterMs: 125 });
            continue;
          }
          if (!held.has(o.device)) granted.set(o.device, []);
          held.set(o.device, now);
          if (result.ok) (granted.get(o.device) as Array<[number, number]>).push([now, o.bytes]);
          else expect(result.cause).toBe("rate");
          expect(slots.held).toBe(held.size);
          expect(slots.held).toBeLessThanOrEqual(limits.maxConcurrent);
          // in any window of a slot's life, at most burst + rate * window bytes
          const list = granted.get(o.device) as Array<[number, number]>;
          for (let i = 0; i < list.length; i++) {
            let sum = 0;
            for (let j = i; j < list.length; j++) {
              sum += (list[j] as [number, number])[1];
              const windowMs = (list[j] as [number, number])[0] - (list[i] as [number, number])[0];
              expect(sum).toBeLessThanOrEqual(limits.burstBytes + (limits.bytesPerS * windowMs) / 1000 + 1e-6);
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
