// Register access over 4-wire SPI (ECMA-419 `embedded:io/spi`), in the framing ADI's ADXL345 and
// ST's LIS3DH share: the first byte of a transaction is the address, bit 7 set to read (R/W),
// bit 6 set to auto-increment over several bytes (ADXL345 "MB", LIS3DH "MS"), bits 5..0 the register.
// One transaction per call: one transfer() (write() for a register write) of address + data, then
// flush(true), which raises chip select; the part acts on the rising edge (the ADXL345 pops its FIFO
// there after a read of DATAX0..DATAZ1). The frames are views made once per length: nothing is
// allocated per call once each length has been used; data read is copied natively (set) into the
// caller's bytes, since the address byte occupies the frame's first byte.
import type { SPIIo } from "./accel-fifo-sensor.js";

const READ = 0x80;
const MULTI_BYTE = 0x40;
const ADDRESS = 0x3f;
/** longest read or write, bytes (the FIFO drivers read at most 6 per transaction) */
const MAX_DATA_BYTES = 32;

export class SpiRegisterIo {
  readonly #spi: SPIIo;
  readonly #buffer = new Uint8Array(1 + MAX_DATA_BYTES);
  /** #frames[n]: address + n data bytes; #data[n]: the n data bytes of it */
  readonly #frames: Uint8Array[] = [];
  readonly #data: Uint8Array[] = [];

  constructor(spi: SPIIo) {
    this.#spi = spi;
  }

  readUint8(register: number): number {
    const frame = this.#frame(1);
    frame[0] = READ | (register & ADDRESS);
    this.#spi.transfer(frame);
    this.#spi.flush(true);
    return frame[1]!;
  }

  writeUint8(register: number, value: number): void {
    const frame = this.#frame(1);
    frame[0] = register & ADDRESS;
    frame[1] = value;
    this.#spi.write(frame);
    this.#spi.flush(true);
  }

  /** one transaction: the address with R/W (and MB for more than one byte), then into.byteLength bytes */
  readBuffer(register: number, into: Uint8Array): void {
    const length = into.byteLength;
    const frame = this.#frame(length);
    frame[0] = READ | (length > 1 ? MULTI_BYTE : 0) | (register & ADDRESS);
    this.#spi.transfer(frame);
    this.#spi.flush(true);
    into.set(this.#data[length]!);
  }

  close(): void {
    this.#spi.close();
  }

  #frame(length: number): Uint8Array {
    const frame = this.#frames[length];
    if (frame) return frame;
    if (!Number.isInteger(length) || length < 1 || length > MAX_DATA_BYTES) throw new RangeError(`SPI register access: 1..${MAX_DATA_BYTES} bytes, got ${length}`);
    this.#data[length] = this.#buffer.subarray(1, 1 + length);
    return (this.#frames[length] = this.#buffer.subarray(0, 1 + length));
  }
}
