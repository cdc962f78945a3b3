// Moddable's Timer as the scheduler the app and the MQTT session take (they are injected so they
// run under tests anywhere; on the device and in the simulator this is the one they get).
import Timer from "timer";
import type { DeviceAppOptions } from "./device-app.js";

export const timerScheduler: DeviceAppOptions["scheduler"] = {
  set: (callback, delayMs) => Timer.set(() => callback(), delayMs),
  repeat: (callback, intervalMs) => Timer.repeat(() => callback(), intervalMs),
  clear: (id) => Timer.clear(id as Timer), // only ever a Timer made by set() or repeat() above
};
