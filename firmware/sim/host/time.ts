// "time" on the simulated board: ticks and microseconds follow the virtual clock; the wall clock is
// unset (0) until Time.set, as on a device before SNTP.
import { virtualNowMs } from "../virtual-clock.js";

let epochOffsetS = 0;

export default class Time {
  static timezone = 0;
  static dst = 0;
  static set(seconds: number): void {
    epochOffsetS = seconds - virtualNowMs() / 1000;
  }
  static get ticks(): number {
    return Math.floor(virtualNowMs());
  }
  static get microseconds(): number {
    return Math.floor(virtualNowMs() * 1000);
  }
  static delta(start: number, end: number = Time.ticks): number {
    return end - start;
  }
  /** seconds since the epoch by the simulated real-time clock (0-based until set) */
  static get seconds(): number {
    return epochOffsetS + virtualNowMs() / 1000;
  }
}
