// ST LIS3DH accelerometer, read through its 32-level FIFO in bursts (Moddable's own driver reads
// one sample per call and cannot keep up at kHz rates). Datasheet DocID17530.
// Stream mode; one auto-increment read (OUT_X_L | 0x80) of 6·n bytes drains n samples: with the
// FIFO enabled the address wraps from OUT_Z_H back to OUT_X_L. Rates up to 1344 Hz run in
// high-resolution (12-bit) mode; 1620 and 5376 Hz exist only in low-power (8-bit) mode.
import {
  FIFO_DEPTH, FIFO_ERROR, FIFO_OVERRUN, STANDARD_GRAVITY_MS2, checkRange, pickRate,
  openIdentifiedSMBus, type AccelFifoOptions, type AccelFifoSensor, type AccelFifoSensorOptions, type SMBusIo,
} from "./accel-fifo-sensor.js";
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

export class Lis3dh implements AccelFifoSensor {
  readonly part = "lis3dh" as const;
  onError?: (error: Error) => void;
  #io: SMBusIo | undefined;
  #rateHz = 1344;
  #rangeG: RangeG = 4;
  #scale = 0;
  #lsbMS2 = 0;
  readonly #raw = new Int16Array(FIFO_DEPTH * 3);
  /** byte views of #raw for each burst length, made once: a burst allocates nothing */
  readonly #bursts: Uint8Array[] = [];

  constructor(options: AccelFifoSensorOptions) {
    const { sensor } = options;
    const { io } = openIdentifiedSMBus(sensor, { part: "lis3dh", register: LIS3DH_REGISTERS.WHO_AM_I, registerName: "WHO_AM_I", expected: LIS3DH_WHO_AM_I, defaultAddress: LIS3DH_DEFAULT_ADDRESS });
    this.onError = options.onError;
    this.#io = io;
    for (let n = 0; n <= FIFO_DEPTH; n++) this.#bursts.push(new Uint8Array(this.#raw.buffer, 0, n * 6));
    try {
      this.configure({ rateHz: options.rateHz ?? this.#rateHz, rangeG: options.rangeG ?? this.#rangeG });
    } catch (error) {
      this.close();
      throw error;
    }
  }

  get sampleRateHz(): number {
    return this.#rateHz;
  }
  get rangeG(): RangeG {
    return this.#rangeG;
  }
  get fullScaleMS2(): number {
    return this.#rangeG * STANDARD_GRAVITY_MS2;
  }

  get lsbMS2(): number {
    return this.#lsbMS2;
  }

  configure(options: AccelFifoOptions): void {
    const io = this.#open();
    if (options.rateHz !== undefined) {
      if (!(options.rateHz > 0)) throw new RangeError(`lis3dh: rate must be > 0 Hz, got ${options.rateHz}`);
      this.#rateHz = pickRate(LIS3DH_RATES_HZ, options.rateHz);
    }
    if (options.rangeG !== undefined) this.#rangeG = checkRange(options.rangeG);
    const [, odr, lowPower] = RATES.find((r) => r[0] === this.#rateHz)!;
    const fs = FS_CODE[this.#rangeG];
    // left-justified 16-bit output: one LSB of the 16-bit word is mg/digit / 2^(16 - bits)
    this.#lsbMS2 = ((lowPower ? MG_PER_DIGIT_LP[fs]! : MG_PER_DIGIT_HR[fs]!) * STANDARD_GRAVITY_MS2) / 1000;
    this.#scale = this.#lsbMS2 / (lowPower ? 256 : 16);
    io.writeUint8(LIS3DH_REGISTERS.CTRL_REG1, (odr << 4) | (lowPower << 3) | 0x07); // ODR, LPen, X/Y/Z on
    io.writeUint8(LIS3DH_REGISTERS.CTRL_REG4, 0x80 | (fs << 4) | (lowPower ? 0 : 0x08)); // BDU, FS, HR
    io.writeUint8(LIS3DH_REGISTERS.CTRL_REG5, 0x40); // FIFO_EN
    this.restartFifo();
  }

  restartFifo(): void {
    const io = this.#open();
    io.writeUint8(LIS3DH_REGISTERS.FIFO_CTRL_REG, 0x00); // bypass: empties the FIFO
    io.writeUint8(LIS3DH_REGISTERS.FIFO_CTRL_REG, 0x80); // stream mode
  }

  readFifo(out: Float32Array): number {
    try {
      const io = this.#open();
      const source = io.readUint8(LIS3DH_REGISTERS.FIFO_SRC_REG);
      if (source & 0x40) {
        // OVRN_FIFO: the FIFO is full, samples may already be lost; a window with a gap is not valid
        this.restartFifo();
        return FIFO_OVERRUN;
      }
      const count = source & 0x1f;
      if (count === 0) return 0;
      io.readBuffer(LIS3DH_REGISTERS.OUT_X_L | AUTO_INCREMENT, this.#bursts[count]!);
      const raw = this.#raw;
      const scale = this.#scale;
      for (let i = 0; i < count * 3; i++) out[i] = raw[i]! * scale;
      return count;
    } catch (error) {
      this.onError?.(error as Error);
      return FIFO_ERROR;
    }
  }

  close(): void {
    const io = this.#io;
    this.#io = undefined;
    io?.close();
  }

  #open(): SMBusIo {
    if (!this.#io) throw new Error("lis3dh: closed");
    return this.#io;
  }
}
