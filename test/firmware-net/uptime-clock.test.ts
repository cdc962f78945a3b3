// Uptime from Moddable's Time.ticks, a signed 32-bit millisecond count on the ESP32 that wraps
// after 2^31 ms (24.8 days): the status `up` must keep counting through the wrap (issue 20).
import { describe, expect, it } from "vitest";
import { uptimeClock } from "../../firmware/app/uptime-clock.js";

const INT32_WRAP = 2 ** 32;
/** what Time.ticks reads on the device after `ms` of uptime, from a start of `startTicks` */
const deviceTicks = (startTicks: number, ms: number) => ((startTicks + ms) % INT32_WRAP) | 0;

describe("uptimeClock", () => {
  it("counts on through the int32 wrap of Time.ticks (30 days of reads every hour)", () => {
    let ms = 0;
    const start = 2 ** 31 - 5 * 86_400_000; // the wrap falls on day 5
    const uptime = uptimeClock(() => deviceTicks(start, ms));
    const hourMs = 3_600_000;
    for (let hour = 1; hour <= 30 * 24; hour++) {
      ms = hour * hourMs;
      expect(uptime()).toBe(ms);
    }
    // reading ticks directly goes negative after the wrap (day 6 here): the defect this replaces
    expect(deviceTicks(start, 6 * 86_400_000)).toBeLessThan(0);
  });

  it("starts at 0 at its first read", () => {
    const uptime = uptimeClock(() => 123_456);
    expect(uptime()).toBe(0);
  });
});
