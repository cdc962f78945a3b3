// "timer": Moddable's Timer, mirroring the SDK 8.2 typings ($MODDABLE/typings/timer.d.ts): set()
// and repeat() return an opaque Timer object (a host object on the device), which clear() and
// schedule() take back. Code must not treat it as a number.
declare module "timer" {
  export type TimerCallback = (timer: Timer) => void;
  class Timer {
    private constructor();
    /** repeat: interval in ms after the first firing (omit for a one-shot timer) */
    static set: (callback: TimerCallback, interval?: number, repeat?: number) => Timer;
    static repeat: (callback: TimerCallback, interval: number) => Timer;
    static schedule: (timer: Timer, interval?: number, repeat?: number) => void;
    static clear: (timer: Timer | undefined | null) => void;
    static delay: (milliseconds: number) => void;
    private brand: boolean;
  }
  export { Timer as default };
}
