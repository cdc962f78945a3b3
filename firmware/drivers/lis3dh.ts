// ST LIS3DH accelerometer, read through its 32-level FIFO in bursts (Moddable's own driver reads
// one sample per call and cannot keep up at kHz rates). Datasheet DocID17530.
// Stream mode; one auto-increment read (OUT_X_L | 0x80) of 6·n bytes drains n samples: with the
// FIFO enabled the address wraps from OUT_Z_H back to OUT_X_L. Rates up to 1344 Hz run in
// high-resolution (12-bit) mode; 1620 and 5376 Hz exist only in low-power (8-bit) mode.
// On I2C only here: the part speaks SPI too, but its burst address (OUT_X_L | 0x80) is I2C's.
import { FIFO_OVERRUN, STANDARD_GRAVITY_MS2 } from "./accel-fifo-sensor.js";
import type { AccelFifoSensorOptions } from "./accel-fifo-sensor.js";
import { FifoDriver, burstViews, type PartIdentity, type RegisterIo } from "./fifo-driver.js";
import type { RangeG } from "../../protocol/messages.js";

export const LIS3DH_REGISTERS = Object.freeze({
  WHO_AM_I: 0x0f, CTRL_REG1: 0x20, CTRL_REG4: 0x23, CTRL_REG5: 0x24, OUT_X_L: 0x28, FIFO_CTRL_REG: 0x2e, FIFO_SRC_REG: 0x2f,
});
export const LIS3DH_WHO_AM_I = 0x33;
export const LIS3DH_DEFAULT_ADDRESS = 0x18;
const AUTO_INCREMENT = 0x80;

/** supported rates, Hz, and their CTRL_REG1 ODR code and low-power bit */
const RATES = Object.freeze([
  [1, 1, 0], [10, 2, 0], [25, 3, 0], [50, 4, 0], [100, 5, 0], [200, 6, 0], [400, 7, 0], [1344, 9, 0], [1620, 8, 1], [5376, 9, 1],
] as const);
export const LIS3DH_RATES_HZ: readonly number[] = Object.freeze(RATES.map((r) => r[0]));
/** mg per digit by full-scale code, high-resolution (12-bit) and low-power (8-bit) */
const MG_PER_DIGIT_HR = Object.freeze([1, 2, 4, 12]);
const MG_PER_DIGIT_LP = Object.freeze([16, 32, 64, 192]);
const FS_CODE: Readonly<Record<RangeG, number>> = Object.freeze({ 2: 0, 4: 1, 8: 2, 16: 3 });

const IDENTITY: PartIdentity = Object.freeze({
  part: "lis3dh", register: LIS3DH_REGISTERS.WHO_AM_I, registerName: "WHO_AM_I", expected: LIS3DH_WHO_AM_I, defaultAddress: LIS3DH_DEFAULT_ADDRESS,
});

function isLowPower(rateHz: number): boolean {
  return RATES.find((r) => r[0] === rateHz)![2] === 1;
}

export class Lis3dh extends FifoDriver {
  constructor(options: AccelFifoSensorOptions) {
    super(options, IDENTITY, { rateHz: 1344, rangeG: 4 });
  }

  protected get ratesHz(): readonly number[] {
    return LIS3DH_RATES_HZ;
  }

  /** one digit of the 12-bit (high-resolution) or 8-bit (low-power) output, m/s² */
  get lsbMS2(): number {
    const fs = FS_CODE[this.rangeG];
    return ((isLowPower(this.sampleRateHz) ? MG_PER_DIGIT_LP[fs]! : MG_PER_DIGIT_HR[fs]!) * STANDARD_GRAVITY_MS2) / 1000;
  }

  /** the output is left-justified in 16 bits: one unit of the word is a digit / 2^(16 - bits) */
  get countMS2(): number {
    return this.lsbMS2 / (isLowPower(this.sampleRateHz) ? 256 : 16);
  }

  protected program(io: RegisterIo, rateHz: number, rangeG: RangeG): void {
    const [, odr, lowPower] = RATES.find((r) => r[0] === rateHz)!;
    const fs = FS_CODE[rangeG];
    io.writeUint8(LIS3DH_REGISTERS.CTRL_REG1, (odr << 4) | (lowPower << 3) | 0x07); // ODR, LPen, X/Y/Z on
    io.writeUint8(LIS3DH_REGISTERS.CTRL_REG4, 0x80 | (fs << 4) | (lowPower ? 0 : 0x08)); // BDU, FS, HR
    io.writeUint8(LIS3DH_REGISTERS.CTRL_REG5, 0x40); // FIFO_EN
  }

  restartFifo(): void {
    const io = this.io();
    io.writeUint8(LIS3DH_REGISTERS.FIFO_CTRL_REG, 0x00); // bypass: empties the FIFO
    io.writeUint8(LIS3DH_REGISTERS.FIFO_CTRL_REG, 0x80); // stream mode
  }

  /** views of the first 6·n bytes of the block: one burst drains n samples */
  protected fifoViews(out: Int16Array): Uint8Array[] {
    return burstViews(out);
  }

  protected drain(io: RegisterIo, bursts: readonly Uint8Array[]): number {
    const source = io.readUint8(LIS3DH_REGISTERS.FIFO_SRC_REG);
    if (source & 0x40) {
      // OVRN_FIFO: the FIFO is full, samples may already be lost; a window with a gap is not valid
      this.restartFifo();
      return FIFO_OVERRUN;
    }
    const count = source & 0x1f;
    if (count > 0) io.readBuffer(LIS3DH_REGISTERS.OUT_X_L | AUTO_INCREMENT, bursts[count]!);
    return count;
  }
}
