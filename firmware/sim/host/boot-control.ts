// The simulator's side of firmware/ota/native/boot-control.c: the same host-function names, as
// globals of the XS worker (bundle-firmware.ts's native() looks them up there), each a host call
// to the device's simulated flash (simulator/flash-store.ts), which keeps the boot record as
// ESP-IDF's otadata does. roll-back and restart ask the host to restart the worker: the host does
// so once the current call returns (nothing runs after it on the device either). Runs under XS only.
import { hostCall } from "../host-bridge.js";

const globals = globalThis as unknown as Record<string, unknown>;
globals.xs_vwota_version = () => 1;
globals.xs_vwota_running = () => hostCall<number>("ota.running");
globals.xs_vwota_activate_next = () => failed(hostCall("ota.activate"));
globals.xs_vwota_mark_valid = () => failed(hostCall("ota.mark-valid"));
globals.xs_vwota_roll_back = () => failed(hostCall("ota.roll-back"));
globals.xs_vwota_restart = () => failed(hostCall("ota.restart"));

function failed(reply: unknown): void {
  if (reply !== null && typeof reply === "object" && typeof (reply as { fail?: unknown }).fail === "string") throw new Error((reply as { fail: string }).fail);
}
