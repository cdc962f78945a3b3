// "timer": Moddable's Timer (modules/base/timer, typings/timer.d.ts). The repeat argument of set()
// and schedule() is a repeat interval in ms (the SDK's typings say boolean; its implementation and
// documentation/base/timer.md take a number).
declare module "timer" {
  type TimerID = number;
  type TimerCallback = (id: TimerID) => void;
  const Timer: {
    set(callback: TimerCallback, interval?: number, repeat?: number): TimerID;
    repeat(callback: TimerCallback, interval: number): TimerID;
    schedule(id: TimerID, interval?: number, repeat?: number): void;
    clear(id: TimerID): void;
    delay(ms: number): void;
  };
  export { Timer as default };
}
