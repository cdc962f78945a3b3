// Issue 20 (point 5): on the ESP32, Moddable's Time.ticks is the FreeRTOS millisecond count as a
// signed 32-bit integer (xs_time_ticks: xsmcSetInteger of a uint32_t), so it turns negative after
// 2^31 ms (24.8 days) and comes back to 0 after 2^32 ms (49.7 days); Time.delta(start, end)
// subtracts as uint32 and returns the int32 result, so it is right across one wrap. The simulated
// board does the same. (Node side: the pure clock, no XS needed.)
import { describe, expect, it } from "vitest";
import Time from "../../firmware/sim/host/time.js";
import { advanceVirtualTime, virtualNowMs } from "../../firmware/sim/virtual-clock.js";

const TWO_31 = 2 ** 31;

describe("Time.ticks wraps like the ESP32's signed 32-bit millisecond count", () => {
  it("turns negative after 2^31 ms and back to 0 after 2^32 ms; Time.delta spans the wrap", () => {
    advanceVirtualTime(TWO_31 - 5 - virtualNowMs());
    const before = Time.ticks;
    expect(before).toBe(TWO_31 - 5); // 2147483643, the largest int32s
    advanceVirtualTime(10);
    const after = Time.ticks;
    expect(after).toBe(-TWO_31 + 5); // -2147483643: wrapped
    expect(after - before).toBe(-(2 ** 32) + 10); // what naive subtraction gives after the wrap
    expect(Time.delta(before, after)).toBe(10);
    expect(Time.delta(before)).toBe(10); // end defaults to Time.ticks
    expect(Time.delta(2147483643, -2147483643)).toBe(10); // literal device values

    advanceVirtualTime(TWO_31 - 5); // virtual ms = 2^32
    expect(virtualNowMs()).toBe(2 ** 32);
    expect(Time.ticks).toBe(0);
    expect(Time.delta(after, Time.ticks)).toBe(TWO_31 - 5);
    // Time.microseconds comes from esp_timer (64-bit): it does not wrap
    expect(Time.microseconds).toBe(2 ** 32 * 1000);
  });
});
