// Analog Devices ADXL345 accelerometer, read through its 32-level FIFO (datasheet Rev. G), on I2C
// or 4-wire SPI (mode 3: CPOL = 1, CPHA = 1; at most 5 MHz; chip select active low).
// Stream mode, full resolution (3.9 mg/LSB at every range), right-justified. FIFO_STATUS gives the
// entry count; each entry is one 6-byte multi-byte read of DATAX0..DATAZ1 (the datasheet requires
// reading all six bytes per entry: the FIFO pops at the end of that read, on SPI when chip select
// rises). On SPI each entry is its own transaction: address (read | multi-byte | 0x32), 6 data bytes.
// Overrun: INT_SOURCE bit 0.
import { FIFO_DEPTH, FIFO_OVERRUN, STANDARD_GRAVITY_MS2, type AccelFifoSensorOptions } from "./accel-fifo-sensor.js";
import { FifoDriver, entryViews, type PartIdentity, type RegisterIo } from "./fifo-driver.js";
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

const IDENTITY: PartIdentity = Object.freeze({
  part: "adxl345", register: ADXL345_REGISTERS.DEVID, registerName: "DEVID", expected: ADXL345_DEVID, defaultAddress: ADXL345_DEFAULT_ADDRESS,
  spi: Object.freeze({ mode: 3, maxHz: 5_000_000 }),
});

export class Adxl345 extends FifoDriver {
  constructor(options: AccelFifoSensorOptions) {
    super(options, IDENTITY, { rateHz: 3200, rangeG: 4 });
  }

  protected get ratesHz(): readonly number[] {
    return ADXL345_RATES_HZ;
  }

  get lsbMS2(): number {
    return SCALE_MS2_PER_LSB;
  }

  /** right-justified: one unit of the word is one LSB */
  get countMS2(): number {
    return SCALE_MS2_PER_LSB;
  }

  protected program(io: RegisterIo, rateHz: number, rangeG: RangeG): void {
    const code = 15 - Math.round(Math.log2(3200 / rateHz));
    io.writeUint8(ADXL345_REGISTERS.POWER_CTL, 0x00); // standby while reconfiguring
    io.writeUint8(ADXL345_REGISTERS.BW_RATE, code);
    io.writeUint8(ADXL345_REGISTERS.DATA_FORMAT, 0x08 | RANGE_CODE[rangeG]); // 4-wire SPI, FULL_RES, right-justified, range
    io.writeUint8(ADXL345_REGISTERS.POWER_CTL, 0x08); // measure
  }

  restartFifo(): void {
    const io = this.io();
    io.writeUint8(ADXL345_REGISTERS.FIFO_CTL, 0x00); // bypass: empties the FIFO
    io.writeUint8(ADXL345_REGISTERS.FIFO_CTL, 0x80 | 16); // stream mode, watermark 16
  }

  /** one 6-byte view per entry of the block */
  protected fifoViews(out: Int16Array): Uint8Array[] {
    return entryViews(out);
  }

  protected drain(io: RegisterIo, entries: readonly Uint8Array[]): number {
    const source = io.readUint8(ADXL345_REGISTERS.INT_SOURCE);
    // with no tap, activity or free-fall function enabled, all eight bits cannot be set: a part
    // that does not drive its data line (unplugged on SPI) reads so
    if (source === 0xff) throw new Error(`${this.part}: INT_SOURCE reads 0xff: the part is not answering`);
    if (source & 0x01) {
      this.restartFifo(); // overrun: the FIFO filled, samples may be lost
      return FIFO_OVERRUN;
    }
    const count = io.readUint8(ADXL345_REGISTERS.FIFO_STATUS) & 0x3f;
    if (count > FIFO_DEPTH) throw new Error(`${this.part}: FIFO_STATUS reports ${count} entries, the FIFO has ${FIFO_DEPTH}`);
    for (let i = 0; i < count; i++) io.readBuffer(ADXL345_REGISTERS.DATAX0, entries[i]!);
    return count;
  }
}
