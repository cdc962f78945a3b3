// Simulated Moddable "flash" (XS side): a partition of the device's simulated flash
// (simulator/flash-store.ts) through host calls. "nextota" is the app slot not running, "running"
// the running one, as on the ESP32 (modules/files/flash/esp32/flash.c). Bytes travel as hex.
// What the device spends is charged to the virtual clock (ota-device-costs.ts), the simulator's own
// work (hex, host calls) is not. Runs under XS only.
import { hostCall } from "../host-bridge.js";
import { beginSimulatorWork, chargeDeviceTime, endSimulatorWork } from "../virtual-clock.js";
import { FLASH_PROGRAM_MS_PER_BYTE, FLASH_READ_MS_PER_BYTE, FLASH_SECTOR_ERASE_MS } from "../ota-device-costs.js";

type Refusal = { fail: string };

/** runs simulator work (not charged), then charges what the device would have spent */
export function asDevice<T>(deviceMs: number, work: () => T): T {
  beginSimulatorWork();
  try {
    return work();
  } finally {
    endSimulatorWork();
    chargeDeviceTime(deviceMs);
  }
}

function check<T>(reply: T | Refusal): T {
  if (reply !== null && typeof reply === "object" && typeof (reply as Refusal).fail === "string") throw new Error((reply as Refusal).fail);
  return reply as T;
}

export function toHexBytes(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += (bytes[i]! < 16 ? "0" : "") + bytes[i]!.toString(16);
  return out;
}

export function fromHexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

class Flash {
  readonly #slot: number;
  readonly #byteLength: number;
  readonly #blockSize: number;

  constructor(partition: string) {
    const info = check(hostCall<{ slot: number; byteLength: number; blockSize: number } | Refusal>("flash.open", { partition }));
    this.#slot = info.slot;
    this.#byteLength = info.byteLength;
    this.#blockSize = info.blockSize;
  }

  get byteLength(): number {
    return this.#byteLength;
  }

  get blockSize(): number {
    return this.#blockSize;
  }

  erase(sector: number): void {
    asDevice(FLASH_SECTOR_ERASE_MS, () => check(hostCall("flash.erase", { slot: this.#slot, sector })));
  }

  write(offset: number, byteLength: number, buffer: ArrayBuffer): void {
    asDevice(byteLength * FLASH_PROGRAM_MS_PER_BYTE, () => {
      const bytes = new Uint8Array(buffer, 0, byteLength);
      check(hostCall("flash.write", { slot: this.#slot, offset, hex: toHexBytes(bytes) }));
    });
  }

  read(offset: number, byteLength: number): ArrayBuffer {
    return asDevice(byteLength * FLASH_READ_MS_PER_BYTE, () => {
      const hex = check(hostCall<string | Refusal>("flash.read", { slot: this.#slot, offset, byteLength }));
      return fromHexBytes(hex).buffer as ArrayBuffer;
    });
  }

  readString(offset: number, byteLength: number): string {
    return String.fromArrayBuffer(this.read(offset, byteLength));
  }
}

export default Flash;
