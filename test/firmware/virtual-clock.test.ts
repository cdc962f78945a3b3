// The simulated board's Timer on virtual time: timers fire in due order (ties in creation order),
// repeat, can be cleared and rescheduled, and timers set by callbacks fire within the same advance.
import { describe, expect, it } from "vitest";
import Timer from "../../firmware/sim/host/timer.js";
import Time from "../../firmware/sim/host/time.js";
import { advanceVirtualTime, pendingVirtualTimers, virtualNowMs } from "../../firmware/sim/virtual-clock.js";

describe("virtual clock and Timer", () => {
  it("fires timers in due order at their due time, ties in creation order", () => {
    const fired: string[] = [];
    const start = virtualNowMs();
    Timer.set(() => fired.push(`b@${virtualNowMs() - start}`), 20);
    Timer.set(() => fired.push(`a@${virtualNowMs() - start}`), 10);
    Timer.set(() => fired.push(`c@${virtualNowMs() - start}`), 20);
    advanceVirtualTime(15);
    expect(fired).toEqual(["a@10"]);
    advanceVirtualTime(15);
    expect(fired).toEqual(["a@10", "b@20", "c@20"]);
    expect(virtualNowMs() - start).toBe(30);
    expect(Time.ticks).toBe(Math.floor(virtualNowMs()));
  });

  it("repeats, clears, reschedules, and runs timers that callbacks set during the same advance", () => {
    const start = virtualNowMs();
    const ticks: number[] = [];
    const id = Timer.repeat(() => {
      ticks.push(virtualNowMs() - start);
      if (ticks.length === 2) Timer.set(() => ticks.push(-(virtualNowMs() - start)), 1);
    }, 10);
    advanceVirtualTime(35);
    expect(ticks).toEqual([10, 20, -21, 30]);
    Timer.schedule(id, 100);
    advanceVirtualTime(50);
    expect(ticks).toHaveLength(4);
    Timer.clear(id);
    Timer.clear(id);
    advanceVirtualTime(200);
    expect(ticks).toHaveLength(4);
    expect(pendingVirtualTimers()).toBe(0);
  });

  it("Timer.delay moves time without firing timers (they run late, as on the device)", () => {
    const fired: number[] = [];
    const start = virtualNowMs();
    Timer.set(() => fired.push(virtualNowMs() - start), 5);
    Timer.delay(20);
    expect(fired).toEqual([]);
    advanceVirtualTime(0);
    expect(fired).toEqual([20]);
  });

  it("refuses to move time backwards or by a non-number", () => {
    expect(() => advanceVirtualTime(-1)).toThrow(RangeError);
    expect(() => advanceVirtualTime(Number.NaN)).toThrow(RangeError);
  });
});
