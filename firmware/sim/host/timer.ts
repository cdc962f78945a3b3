// "timer" on the simulated board: Moddable's Timer API over the virtual clock.
import { clearVirtualTimer, delayVirtualTime, scheduleVirtualTimer, setVirtualTimer } from "../virtual-clock.js";

type TimerCallback = (id: number) => void;

const Timer = Object.freeze({
  set(callback: TimerCallback, ms = 0, repeatMs?: number): number {
    return setVirtualTimer(callback, ms, repeatMs ?? 0);
  },
  repeat(callback: TimerCallback, ms: number): number {
    return setVirtualTimer(callback, ms, ms);
  },
  schedule(id: number, ms = 0, repeatMs?: number): void {
    scheduleVirtualTimer(id, ms, repeatMs ?? 0);
  },
  clear(id: number | undefined): void {
    if (id !== undefined) clearVirtualTimer(id);
  },
  delay(ms: number): void {
    delayVirtualTime(ms);
  },
});

export default Timer;
