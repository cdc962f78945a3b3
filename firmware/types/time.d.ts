// "time": Moddable's Time (modules/base/time, typings/time.d.ts).
declare module "time" {
  class Time {
    /** sets the real-time clock, seconds since the Unix epoch */
    static set(seconds: number): void;
    static timezone: number;
    static dst: number;
    /** a monotonic millisecond counter (wraps on the device) */
    static readonly ticks: number;
    /** a monotonic microsecond counter, where the platform has one */
    static readonly microseconds: number;
    /** ticks between two values, handling wrap */
    static delta(start: number, end?: number): number;
  }
  export { Time as default };
}
