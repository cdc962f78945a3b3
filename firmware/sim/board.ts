// The simulated board: one accelerometer model fed by a signal source, on the I2C bus or (ADXL345)
// on the SPI bus at a chip-select pin, the global `device` host provider (as Moddable's ECMA-419
// host provider installs it), and the host command "advance" that moves virtual time (firing
// timers, filling the sensor FIFO).
// Runs under XS inside xsnap; no Node API.
import I2C from "embedded:io/i2c";
import SPI from "embedded:io/spi";
import { onHostCommand } from "./host-bridge.js";
import { attachI2cDevice, detachI2cDevice } from "./i2c-bus.js";
import { attachSpiDevice, detachSpiDevice } from "./host/spi.js";
import { advanceVirtualTime } from "./virtual-clock.js";
import { Lis3dhModel } from "./models/lis3dh-model.js";
import { Adxl345Model } from "./models/adxl345-model.js";
import type { AccelFifoModel } from "./models/accel-fifo-model.js";
import type { SignalSource } from "./signals/signal-source.js";
import type { SensorPart } from "../drivers/accel-fifo-sensor.js";

export interface BoardOptions {
  part: SensorPart;
  signal: SignalSource;
  /** where the part sits (default I2C; SPI: ADXL345 only, at BOARD_SPI_SELECT) */
  bus?: "i2c" | "spi";
  /** I2C address of the part (default 0x18 LIS3DH, 0x53 ADXL345) */
  address?: number;
  /** identity register answer, to simulate a wrong part (WHO_AM_I / DEVID) */
  identity?: number;
}

export interface Board {
  model: AccelFifoModel;
  bus: "i2c" | "spi";
  /** I2C address (I2C), chip-select pin (SPI) */
  address: number;
  /** removes the part from the bus (a missing or unplugged device) */
  unplug(): void;
  /** puts it back (a loose connector) */
  plug(): void;
}

/** I2C pins of the simulated board (ESP32 DevKit defaults) */
export const BOARD_I2C_PINS = Object.freeze({ data: 21, clock: 22 });
/** SPI pins of the simulated board: ESP32 SPI2 (HSPI), as Moddable's esp32/nodemcu device.SPI.default */
export const BOARD_SPI_PINS = Object.freeze({ clock: 14, in: 12, out: 13, port: 1 });
/** the accelerometer's chip select on the SPI bus (HSPI CS0) */
export const BOARD_SPI_SELECT = 15;

export function installBoard(options: BoardOptions): Board {
  const bus = options.bus ?? "i2c";
  const host = globalThis as unknown as { device?: Record<string, unknown> };
  host.device = { ...(host.device ?? {}), I2C: { default: { io: I2C, ...BOARD_I2C_PINS } }, SPI: { default: { io: SPI, ...BOARD_SPI_PINS } } };
  onHostCommand("advance", (message) => {
    advanceVirtualTime(Number(message.ms));
    return undefined;
  });
  if (bus === "spi") {
    if (options.part !== "adxl345") throw new RangeError(`board: ${options.part} on SPI is not simulated (ADXL345 only)`);
    const model = new Adxl345Model(options.signal, { devId: options.identity });
    const select = BOARD_SPI_SELECT;
    attachSpiDevice(select, model);
    return { model, bus, address: select, unplug: () => detachSpiDevice(select), plug: () => attachSpiDevice(select, model) };
  }
  const address = options.address ?? (options.part === "lis3dh" ? 0x18 : 0x53);
  const model = options.part === "lis3dh"
    ? new Lis3dhModel(options.signal, { whoAmI: options.identity })
    : new Adxl345Model(options.signal, { devId: options.identity });
  attachI2cDevice(address, model);
  return { model, bus, address, unplug: () => detachI2cDevice(address), plug: () => attachI2cDevice(address, model) };
}
