// Analog Devices ADXL345 accelerometer, read through its 32-level FIFO (datasheet Rev. G).
// Stream mode, full resolution (3.9 mg/LSB at every range), right-justified. FIFO_STATUS gives the
// entry count; each entry is one 6-byte multi-byte read of DATAX0..DATAZ1 (the datasheet requires
// reading all six bytes per entry: the FIFO pops at the end of that read). Overrun: INT_SOURCE bit 0.
import {
  FIFO_DEPTH, FIFO_ERROR, FIFO_OVERRUN, STANDARD_GRAVITY_MS2, checkRange, pickRate,
  openIdentifiedSMBus, type AccelFifoOptions, type AccelFifoSensor, type AccelFifoSensorOptions, type SMBusIo,
} from "./accel-fifo-sensor.js";
import type { RangeG } from "../../protocol/messages.js";

export const ADXL345_REGISTERS = Object.freeze({
  DEVID: 0x00, BW_RATE: 0x2c, POWER_CTL: 0x2d, INT_SOURCE: 0x30, DATA_FORMAT: 0x31, DATAX0: 0x32, FIFO_CTL: 0x38, FIFO_STATUS: 0x39,
});
export const ADXL345_DEVID = 0xe5;
export const ADXL345_DEFAULT_ADDRESS = 0x53;
/** BW_RATE codes 0x06..0x0F: 3200 Hz / 2^(15 - code) */
export const ADXL345_RATES_HZ: readonly number[] = Object.freeze([6.25, 12.5, 25, 50, 100, 200, 400, 800, 1600, 3200]);
const RANGE_CODE: Readonly<Record<RangeG, number>> = Object.freeze({ 2: 0, 4: 1, 8: 2, 16: 3 });
/** full resolution: 256 LSB/g at every range */
const SCALE_MS2_PER_LSB = STANDARD_GRAVITY_MS2 / 256;

export class Adxl345 implements AccelFifoSensor {
  readonly part = "adxl345" as const;
  onError?: (error: Error) => void;
  #io: SMBusIo | undefined;
  #rateHz = 3200;
  #rangeG: RangeG = 4;
  readonly #raw = new Int16Array(FIFO_DEPTH * 3);
  /** one 6-byte view of #raw per FIFO entry, made once */
  readonly #entries: Uint8Array[] = [];

  constructor(options: AccelFifoSensorOptions) {
    const { sensor } = options;
    const { io } = openIdentifiedSMBus(sensor, { part: "adxl345", register: ADXL345_REGISTERS.DEVID, registerName: "DEVID", expected: ADXL345_DEVID, defaultAddress: ADXL345_DEFAULT_ADDRESS });
    this.onError = options.onError;
    this.#io = io;
    for (let i = 0; i < FIFO_DEPTH; i++) this.#entries.push(new Uint8Array(this.#raw.buffer, i * 6, 6));
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
    return SCALE_MS2_PER_LSB;
  }

  configure(options: AccelFifoOptions): void {
    const io = this.#open();
    if (options.rateHz !== undefined) {
      if (!(options.rateHz > 0)) throw new RangeError(`adxl345: rate must be > 0 Hz, got ${options.rateHz}`);
      this.#rateHz = pickRate(ADXL345_RATES_HZ, options.rateHz);
    }
    if (options.rangeG !== undefined) this.#rangeG = checkRange(options.rangeG);
    const code = 15 - Math.round(Math.log2(3200 / this.#rateHz));
    io.writeUint8(ADXL345_REGISTERS.POWER_CTL, 0x00); // standby while reconfiguring
    io.writeUint8(ADXL345_REGISTERS.BW_RATE, code);
    io.writeUint8(ADXL345_REGISTERS.DATA_FORMAT, 0x08 | RANGE_CODE[this.#rangeG]); // FULL_RES, right-justified, range
    io.writeUint8(ADXL345_REGISTERS.POWER_CTL, 0x08); // measure
    this.restartFifo();
  }

  restartFifo(): void {
    const io = this.#open();
    io.writeUint8(ADXL345_REGISTERS.FIFO_CTL, 0x00); // bypass: empties the FIFO
    io.writeUint8(ADXL345_REGISTERS.FIFO_CTL, 0x80 | 16); // stream mode, watermark 16
  }

  readFifo(out: Float32Array): number {
    try {
      const io = this.#open();
      if (io.readUint8(ADXL345_REGISTERS.INT_SOURCE) & 0x01) {
        this.restartFifo(); // overrun: the FIFO filled, samples may be lost
        return FIFO_OVERRUN;
      }
      const count = io.readUint8(ADXL345_REGISTERS.FIFO_STATUS) & 0x3f;
      const entries = this.#entries;
      for (let i = 0; i < count; i++) io.readBuffer(ADXL345_REGISTERS.DATAX0, entries[i]!);
      const raw = this.#raw;
      for (let i = 0; i < count * 3; i++) out[i] = raw[i]! * SCALE_MS2_PER_LSB;
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
    if (!this.#io) throw new Error("adxl345: closed");
    return this.#io;
  }
}
