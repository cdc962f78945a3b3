// "time" on the simulated board: ticks and microseconds follow the virtual clock (so they include
// what the running callback has spent so far); the wall clock is unset (0) until Time.set, as on a
// device before SNTP.
// As on the ESP32 (Moddable's modules/base/time/esp/modTime.c): Time.ticks is the FreeRTOS
// millisecond count, a uint32_t handed to xsmcSetInteger, so a signed 32-bit integer that turns
// negative after 2^31 ms (24.8 days) and wraps to 0 after 2^32 ms; Time.delta(start, end = ticks)
// converts both to uint32, subtracts and returns the difference as int32 (right across one wrap).
// Time.microseconds (modules/base/microseconds: esp_timer_get_time(), 64-bit) does not wrap.
import { virtualNowMs } from "../virtual-clock.js";

let epochOffsetS = 0;

export default class Time {
  static timezone = 0;
  static dst = 0;
  static set(seconds: number): void {
    epochOffsetS = seconds - virtualNowMs() / 1000;
  }
  static get ticks(): number {
    return Math.floor(virtualNowMs()) | 0;
  }
  static get microseconds(): number {
    return Math.floor(virtualNowMs() * 1000);
  }
  static delta(start: number, end: number = Time.ticks): number {
    return ((end >>> 0) - (start >>> 0)) | 0;
  }
  /** seconds since the epoch by the simulated real-time clock (0-based until set) */
  static get seconds(): number {
    return epochOffsetS + virtualNowMs() / 1000;
  }
}
