// The simulated board: an I2C bus with one accelerometer model fed by a signal source, the global
// `device` host provider (as Moddable's ECMA-419 host provider installs it), and the host command
// "advance" that moves virtual time (firing timers, filling the sensor FIFO).
// Runs under XS inside xsnap; no Node API.
import I2C from "embedded:io/i2c";
import { onHostCommand } from "./host-bridge.js";
import { attachI2cDevice, detachI2cDevice } from "./i2c-bus.js";
import { advanceVirtualTime } from "./virtual-clock.js";
import { Lis3dhModel } from "./models/lis3dh-model.js";
import { Adxl345Model } from "./models/adxl345-model.js";
import type { AccelFifoModel } from "./models/accel-fifo-model.js";
import type { SignalSource } from "./signals/signal-source.js";
import type { SensorPart } from "../drivers/accel-fifo-sensor.js";

export interface BoardOptions {
  part: SensorPart;
  signal: SignalSource;
  /** I2C address of the part (default 0x18 LIS3DH, 0x53 ADXL345) */
  address?: number;
  /** identity register answer, to simulate a wrong part (WHO_AM_I / DEVID) */
  identity?: number;
}

export interface Board {
  model: AccelFifoModel;
  address: number;
  /** removes the part from the bus (a missing or unplugged device) */
  unplug(): void;
  /** puts it back (a loose connector) */
  plug(): void;
}

/** I2C pins of the simulated board (ESP32 DevKit defaults) */
export const BOARD_I2C_PINS = Object.freeze({ data: 21, clock: 22 });

export function installBoard(options: BoardOptions): Board {
  const address = options.address ?? (options.part === "lis3dh" ? 0x18 : 0x53);
  const model = options.part === "lis3dh"
    ? new Lis3dhModel(options.signal, { whoAmI: options.identity })
    : new Adxl345Model(options.signal, { devId: options.identity });
  attachI2cDevice(address, model);
  const host = globalThis as unknown as { device?: Record<string, unknown> };
  host.device = { ...(host.device ?? {}), I2C: { default: { io: I2C, ...BOARD_I2C_PINS } } };
  onHostCommand("advance", (message) => {
    advanceVirtualTime(Number(message.ms));
    return undefined;
  });
  return { model, address, unplug: () => detachI2cDevice(address), plug: () => attachI2cDevice(address, model) };
}
