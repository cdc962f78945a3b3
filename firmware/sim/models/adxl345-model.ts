// Register-level model of the Analog Devices ADXL345 (datasheet Rev. G) on the simulated I2C bus.
// Modelled: DEVID; BW_RATE (rate code, 3200 Hz / 2^(15 - code)); POWER_CTL (measure bit: sampling
// runs only while set); DATA_FORMAT (FULL_RES: 3.9 mg/LSB at every range, 10..13 bits; otherwise
// 10 bits with the LSB scaling by range; right-justified); DATAX0..DATAZ1 (little-endian); FIFO_CTL
// (mode, samples); FIFO_STATUS (entries 0..32); INT_SOURCE (DATA_READY, watermark, overrun = FIFO
// full). I2C multi-byte access auto-increments always; a read that covers DATAX0..DATAZ1 pops one
// FIFO entry at its end, so draining N entries takes N 6-byte reads (as the datasheet mandates).
// The same register file on 4-wire SPI (mode 3, at most 5 MHz, chip select active low): the first
// byte of a transaction is the address (bit 7 read, bit 6 multi-byte, bits 5..0 register); the
// address auto-increments only with the multi-byte bit; a read that touched DATAX0..DATAZ1 pops one
// FIFO entry when chip select rises. With DATA_FORMAT's SPI bit set (3-wire) SDO is not driven.
import { AccelFifoModel, FIFO_LEVELS, STANDARD_GRAVITY, clampInt } from "./accel-fifo-model.js";
import type { SignalSource } from "../signals/signal-source.js";
import type { SpiDeviceModel } from "../host/spi.js";

export const ADXL345_REG = Object.freeze({
  DEVID: 0x00, BW_RATE: 0x2c, POWER_CTL: 0x2d, INT_ENABLE: 0x2e, INT_SOURCE: 0x30, DATA_FORMAT: 0x31,
  DATAX0: 0x32, DATAZ1: 0x37, FIFO_CTL: 0x38, FIFO_STATUS: 0x39,
});

export interface Adxl345ModelOptions {
  /** answer to DEVID (default 0xE5) */
  devId?: number;
}

const SPI_READ = 0x80;
const SPI_MULTI_BYTE = 0x40;
/** DATA_FORMAT bit 6: 3-wire SPI */
const SPI_3_WIRE = 0x40;

export class Adxl345Model extends AccelFifoModel implements SpiDeviceModel {
  readonly spiMode = 3;
  readonly spiMaxHz = 5_000_000;
  readonly spiSelectActive = 0;
  readonly #devId: number;
  /** SPI transaction: its address byte (-1 before it), the register next, whether it read DATAx */
  #spiCommand = -1;
  #spiRegister = 0;
  #spiReadData = false;

  constructor(signal: SignalSource, options: Adxl345ModelOptions = {}) {
    super(signal);
    this.#devId = options.devId ?? 0xe5;
    this.registers[ADXL345_REG.BW_RATE] = 0x0a; // 100 Hz (reset value)
  }

  rateHz(): number {
    if (!(this.registers[ADXL345_REG.POWER_CTL]! & 0x08)) return 0;
    const code = this.registers[ADXL345_REG.BW_RATE]! & 0x0f;
    return 3200 / 2 ** (15 - code);
  }

  fullScaleG(): number {
    return 2 << (this.registers[ADXL345_REG.DATA_FORMAT]! & 3);
  }

  protected fifoModeBits(): number {
    return this.registers[ADXL345_REG.FIFO_CTL]! >> 6;
  }

  protected quantise(valueMS2: number): number {
    const format = this.registers[ADXL345_REG.DATA_FORMAT]!;
    const range = format & 3;
    const fullResolution = (format & 0x08) !== 0;
    const bits = fullResolution ? 10 + range : 10;
    const lsbPerG = fullResolution ? 256 : 256 >> range;
    const g = Math.max(-this.fullScaleG(), Math.min(this.fullScaleG(), valueMS2 / STANDARD_GRAVITY));
    return clampInt(g * lsbPerG, -(1 << (bits - 1)), (1 << (bits - 1)) - 1);
  }

  protected nextRegister(register: number): number {
    return (register + 1) & 0x3f;
  }

  protected readRegister(register: number): number {
    switch (register) {
      case ADXL345_REG.DEVID:
        return this.#devId;
      case ADXL345_REG.FIFO_STATUS:
        return Math.min(this.fifoCount, FIFO_LEVELS);
      case ADXL345_REG.INT_SOURCE: {
        const count = this.fifoCount;
        const samples = this.registers[ADXL345_REG.FIFO_CTL]! & 0x1f;
        return (count > 0 ? 0x80 : 0) | (count >= samples && samples > 0 ? 0x02 : 0) | (count === FIFO_LEVELS ? 0x01 : 0);
      }
      default:
        if (register >= ADXL345_REG.DATAX0 && register <= ADXL345_REG.DATAZ1) {
          const offset = register - ADXL345_REG.DATAX0;
          const raw = this.headRaw(offset >> 1);
          return offset & 1 ? (raw >> 8) & 0xff : raw & 0xff;
        }
        return this.registers[register]!;
    }
  }

  protected onWrite(register: number, value: number): void {
    if (register === ADXL345_REG.BW_RATE || register === ADXL345_REG.POWER_CTL) this.restartClock();
    if (register === ADXL345_REG.FIFO_CTL && value >> 6 === 0) this.resetFifo();
  }

  spiSelect(): void {
    this.catchUp();
    this.#spiCommand = -1;
    this.#spiReadData = false;
  }

  spiExchange(mosi: number): number {
    if (this.#spiCommand < 0) {
      this.#spiCommand = mosi;
      this.#spiRegister = mosi & 0x3f;
      return 0xff;
    }
    const register = this.#spiRegister;
    let miso = 0xff;
    if (this.#spiCommand & SPI_READ) {
      if (!(this.registers[ADXL345_REG.DATA_FORMAT]! & SPI_3_WIRE)) miso = this.readRegister(register) & 0xff;
      if (register >= ADXL345_REG.DATAX0 && register <= ADXL345_REG.DATAZ1) this.#spiReadData = true;
    } else {
      this.registers[register] = mosi;
      this.onWrite(register, mosi);
    }
    if (this.#spiCommand & SPI_MULTI_BYTE) this.#spiRegister = (register + 1) & 0x3f;
    return miso;
  }

  spiDeselect(): void {
    if (this.#spiReadData) this.popFifo();
    this.#spiCommand = -1;
    this.#spiReadData = false;
  }

  protected afterRead(firstRegister: number, length: number): void {
    const last = firstRegister + length - 1;
    if (firstRegister <= ADXL345_REG.DATAZ1 && last >= ADXL345_REG.DATAX0) this.popFifo();
  }
}
