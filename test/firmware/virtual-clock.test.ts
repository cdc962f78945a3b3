// The simulated board's Timer on virtual time: timers fire in due order (ties in creation order),
// repeat, can be cleared and rescheduled, and timers set by callbacks fire within the same advance;
// a callback that takes time delays the timers due meanwhile (issue 20). (Node: no XS meter here,
// so time passes in callbacks only by Timer.delay; test/firmware/time-in-callbacks.test.ts runs XS.)
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

  it("a callback that overruns the host's step: timers due meanwhile fire late, after it; a repeat keeps its phase and catches up; steps keep their length", () => {
    const start = virtualNowMs();
    const repeats: number[] = [];
    const id = Timer.repeat(() => repeats.push(virtualNowMs() - start), 10);
    Timer.set(() => Timer.delay(30), 15); // a callback busy for 30 ms (Timer.delay: the device blocks)
    advanceVirtualTime(20);
    expect(repeats).toEqual([10, 45]); // due at 20, fired when the busy callback ended
    expect(virtualNowMs() - start).toBe(45); // ahead of the host's 20 ms
    advanceVirtualTime(20); // the step ends at 40: the repeats due at 30 and 40 catch up at once
    expect(repeats).toEqual([10, 45, 45, 45]);
    expect(virtualNowMs() - start).toBe(45);
    advanceVirtualTime(10); // ends at 50: on phase again
    expect(repeats).toEqual([10, 45, 45, 45, 50]);
    expect(virtualNowMs() - start).toBe(50);
    Timer.clear(id);
  });
});
