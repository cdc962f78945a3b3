// Register-level model of the ST LIS3DH (datasheet DocID17530) on the simulated I2C bus.
// Modelled: WHO_AM_I; CTRL_REG1 (ODR, low-power), CTRL_REG4 (full scale, high resolution),
// CTRL_REG5 (FIFO enable, BOOT), FIFO_CTRL_REG (mode, threshold), FIFO_SRC_REG (WTM, OVRN_FIFO,
// EMPTY, FSS), OUT_X_L..OUT_Z_H as left-justified two's complement, quantised to 8/10/12 bits by
// mode and saturated at full scale. Register auto-increment only when the sub-address has bit 7 set;
// with the FIFO on, a read past OUT_Z_H wraps to OUT_X_L and each 6-byte set pops one FIFO entry,
// so the whole FIFO drains in one burst. Writing bypass mode empties the FIFO (the datasheet's reset).
import { AccelFifoModel, FIFO_LEVELS, STANDARD_GRAVITY, clampInt } from "./accel-fifo-model.js";
import type { SignalSource } from "../signals/signal-source.js";

export const LIS3DH_REG = Object.freeze({
  WHO_AM_I: 0x0f, CTRL_REG1: 0x20, CTRL_REG2: 0x21, CTRL_REG3: 0x22, CTRL_REG4: 0x23, CTRL_REG5: 0x24,
  STATUS_REG: 0x27, OUT_X_L: 0x28, OUT_Z_H: 0x2d, FIFO_CTRL_REG: 0x2e, FIFO_SRC_REG: 0x2f,
});

/** ODR codes (CTRL_REG1[7:4]) -> Hz; code 8 is low-power only; code 9 is 1344 Hz, or 5376 Hz in low-power */
const ODR_HZ = [0, 1, 10, 25, 50, 100, 200, 400, 1620, 1344];
/** sensitivity, mg per digit, by full scale (±2, 4, 8, 16 g), for 12-bit HR, 10-bit normal, 8-bit low-power */
export const LIS3DH_MG_PER_DIGIT = Object.freeze({
  highResolution: [1, 2, 4, 12], normal: [4, 8, 16, 48], lowPower: [16, 32, 64, 192],
});

export interface Lis3dhModelOptions {
  /** answer to WHO_AM_I (default 0x33); set another to simulate a wrong part */
  whoAmI?: number;
}

export class Lis3dhModel extends AccelFifoModel {
  readonly #whoAmI: number;

  constructor(signal: SignalSource, options: Lis3dhModelOptions = {}) {
    super(signal);
    this.#whoAmI = options.whoAmI ?? 0x33;
    this.registers[LIS3DH_REG.CTRL_REG1] = 0x07; // power-down, XYZ enabled (datasheet default)
  }

  rateHz(): number {
    const code = this.registers[LIS3DH_REG.CTRL_REG1]! >> 4;
    const lowPower = (this.registers[LIS3DH_REG.CTRL_REG1]! & 0x08) !== 0;
    if (code === 9 && lowPower) return 5376;
    if (code === 8 && !lowPower) return 0; // 1.62 kHz exists in low-power mode only
    return ODR_HZ[code] ?? 0;
  }

  /** output resolution in bits for the current mode */
  bits(): number {
    if (this.registers[LIS3DH_REG.CTRL_REG1]! & 0x08) return 8;
    return this.registers[LIS3DH_REG.CTRL_REG4]! & 0x08 ? 12 : 10;
  }

  fullScaleG(): number {
    return [2, 4, 8, 16][(this.registers[LIS3DH_REG.CTRL_REG4]! >> 4) & 3]!;
  }

  protected fifoModeBits(): number {
    if (!(this.registers[LIS3DH_REG.CTRL_REG5]! & 0x40)) return 0; // FIFO disabled: bypass
    return this.registers[LIS3DH_REG.FIFO_CTRL_REG]! >> 6;
  }

  protected quantise(valueMS2: number): number {
    const bits = this.bits();
    const fs = (this.registers[LIS3DH_REG.CTRL_REG4]! >> 4) & 3;
    const table = bits === 8 ? LIS3DH_MG_PER_DIGIT.lowPower : bits === 10 ? LIS3DH_MG_PER_DIGIT.normal : LIS3DH_MG_PER_DIGIT.highResolution;
    const fullScaleMS2 = this.fullScaleG() * STANDARD_GRAVITY;
    const clipped = Math.max(-fullScaleMS2, Math.min(fullScaleMS2, valueMS2));
    const digits = clampInt((clipped / STANDARD_GRAVITY) * 1000 / table[fs]!, -(1 << (bits - 1)), (1 << (bits - 1)) - 1);
    return digits << (16 - bits);
  }

  protected nextRegister(register: number, reading: boolean): number {
    if (!(register & 0x80)) return register; // no auto-increment without the sub-address MSB
    const address = register & 0x7f;
    if (reading && address === LIS3DH_REG.OUT_Z_H && this.fifoModeBits() !== 0) return 0x80 | LIS3DH_REG.OUT_X_L;
    return 0x80 | ((address + 1) & 0x7f);
  }

  protected readRegister(register: number): number {
    switch (register) {
      case LIS3DH_REG.WHO_AM_I:
        return this.#whoAmI;
      case LIS3DH_REG.FIFO_SRC_REG: {
        const count = this.fifoCount;
        const threshold = this.registers[LIS3DH_REG.FIFO_CTRL_REG]! & 0x1f;
        return (count > threshold ? 0x80 : 0) | (count === FIFO_LEVELS ? 0x40 : 0) | (count === 0 ? 0x20 : 0) | Math.min(count, 31);
      }
      case LIS3DH_REG.STATUS_REG:
        return this.fifoCount > 0 ? 0x0f : 0;
      default:
        if (register >= LIS3DH_REG.OUT_X_L && register <= LIS3DH_REG.OUT_Z_H) {
          const offset = register - LIS3DH_REG.OUT_X_L;
          const raw = this.headRaw(offset >> 1);
          const value = offset & 1 ? (raw >> 8) & 0xff : raw & 0xff;
          if (register === LIS3DH_REG.OUT_Z_H) this.popFifo();
          return value;
        }
        return this.registers[register]!;
    }
  }

  protected onWrite(register: number, value: number): void {
    if (register === LIS3DH_REG.CTRL_REG1) this.restartClock();
    if (register === LIS3DH_REG.FIFO_CTRL_REG && value >> 6 === 0) this.resetFifo();
    if (register === LIS3DH_REG.CTRL_REG5 && value & 0x80) this.registers.fill(0, LIS3DH_REG.CTRL_REG1 + 1, LIS3DH_REG.FIFO_SRC_REG + 1);
  }

  protected afterRead(): void {}
}
