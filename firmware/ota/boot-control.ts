// The bootloader's boot record through native/boot-control.c (XS in C over ESP-IDF's esp_ota_ops.h):
// the Moddable SDK's "ota" module switches the boot partition but has no confirm, no rollback and no
// way to ask whether the running image is pending verification. native("xs_…") is the form xsc
// compiles into a host-function reference; the simulator defines the same names
// (firmware/sim/host/boot-control.ts) over its simulated flash.
import type { BootControl, RunningImage } from "./ota-platform.js";

/** the binding's version this module speaks (VW_OTA_BINDING_VERSION in native/boot-control.c) */
export const BOOT_CONTROL_BINDING_VERSION = 1;

interface Natives {
  version(): number;
  /** bit 0: running slot; bit 1: pending verification */
  running(): number;
  activateNext(): void;
  markValid(): void;
  rollBack(): void;
  restart(): void;
}

let natives: Natives | undefined;

function bind(): Natives {
  if (natives) return natives;
  natives = {
    version: native("xs_vwota_version"),
    running: native("xs_vwota_running"),
    activateNext: native("xs_vwota_activate_next"),
    markValid: native("xs_vwota_mark_valid"),
    rollBack: native("xs_vwota_roll_back"),
    restart: native("xs_vwota_restart"),
  } as Natives;
  const version = natives.version();
  if (version !== BOOT_CONTROL_BINDING_VERSION) {
    natives = undefined;
    throw new Error(`ota: boot-control binding version ${version}, expected ${BOOT_CONTROL_BINDING_VERSION}`);
  }
  return natives;
}

export const bootControl: BootControl = {
  running(): RunningImage {
    const code = bind().running();
    return { slot: (code & 1) as 0 | 1, pending: (code & 2) !== 0 };
  },
  activateNext: () => bind().activateNext(),
  markValid: () => bind().markValid(),
  rollBack: () => bind().rollBack(),
  restart: () => bind().restart(),
};
