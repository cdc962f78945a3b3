// "time": Moddable's Time, mirroring the SDK 8.2 typings ($MODDABLE/typings/time.d.ts).
declare module "time" {
  const Time: {
    /** sets the real-time clock, seconds since the Unix epoch */
    set: (seconds: number) => void;
    timezone: number;
    dst: number;
    /** a monotonic millisecond counter (wraps on the device) */
    ticks: number;
    /** ticks between two values, handling wrap */
    delta(start: number, end?: number): number;
    /** a monotonic microsecond counter, where the platform has one */
    readonly microseconds?: number;
  };
  export { Time as default };
}
