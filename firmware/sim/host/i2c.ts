// "embedded:io/i2c" on the simulated board (ECMA-419 I2C, synchronous), behaving as the Moddable
// SDK's ESP32 implementation (modules/io/i2c/_i2c.js over esp32/_i2c.c, the ESP-IDF 5 i2c_master
// driver) where firmware can tell:
// - errors: the constructor's RangeErrors ("data required", "clock required", "address required",
//   "invalid address", "invalid hz": hz must be 1..20 MHz); a transaction that is not acknowledged
//   throws Error "write failed", "read failed" or "writeRead failed" (xsUnknownError: an Error; a
//   debug build appends " (in <function>)"); a zero-length write is a probe: it returns 1 when
//   nothing answers, undefined when something does, and never throws.
// - `stop`: the ESP32 implementation ignores it (every i2c_master_* call ends with a STOP).
// - read(buffer) and writeRead(…, buffer) return the byte count; read(n) a new ArrayBuffer.
// - time: each transaction costs its bus time at `hz` plus the driver call's overhead
//   (device-cost-model.ts, i2cTransactionUs), charged to the virtual clock; this module's own
//   JavaScript and the device models' work are simulator work, not device time (they are C and
//   silicon on the device).
import { i2cBusStats, i2cDeviceAt, type I2cDeviceModel } from "../i2c-bus.js";
import { i2cTransactionUs } from "../device-cost-model.js";
import { beginSimulatorWork, chargeDeviceTime, endSimulatorWork } from "../virtual-clock.js";

type IoBuffer = ArrayBufferLike | ArrayBufferView;

export interface I2COptions {
  data: number;
  clock: number;
  hz: number;
  address: number;
  port?: number;
  format?: "buffer";
}

/** the largest SCL clock the ESP32 implementation accepts */
const MAX_HZ = 20_000_000;

export function bytesOf(buffer: IoBuffer): Uint8Array {
  return ArrayBuffer.isView(buffer) ? new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength) : new Uint8Array(buffer);
}

export default class I2C {
  readonly #address: number;
  readonly #hz: number;
  #closed = false;

  constructor(options: I2COptions) {
    if (options.data === undefined) throw new RangeError("data required");
    if (options.clock === undefined) throw new RangeError("clock required");
    if (options.address === undefined) throw new RangeError("address required");
    const { address } = options;
    if (!Number.isInteger(address) || address < 0 || address > 0x7f) throw new RangeError("invalid address");
    const hz = Math.trunc(Number(options.hz));
    if (!(hz > 0 && hz <= MAX_HZ)) throw new RangeError("invalid hz");
    this.#address = address;
    this.#hz = hz;
  }

  get resolution(): number {
    return 8;
  }
  get format(): "buffer" {
    return "buffer";
  }
  set format(value: "buffer") {
    if (value !== "buffer") throw new RangeError();
  }

  write(buffer: IoBuffer, _stop = true): number | undefined {
    beginSimulatorWork();
    try {
      const bytes = bytesOf(buffer);
      const model = this.#acknowledging();
      if (bytes.length === 0) {
        this.#busTime(0, 0); // i2c_master_probe: the address alone
        return model ? undefined : 1;
      }
      if (!model) throw this.#nack("write failed");
      i2cBusStats.bytesWritten += bytes.length;
      model.write(bytes, true);
      this.#busTime(bytes.length, 0);
      return undefined;
    } finally {
      endSimulatorWork();
    }
  }

  read(count: number, stop?: boolean): ArrayBuffer;
  read(buffer: IoBuffer, stop?: boolean): number;
  read(countOrBuffer: number | IoBuffer, _stop = true): ArrayBuffer | number {
    beginSimulatorWork();
    try {
      const into = typeof countOrBuffer === "number" ? new Uint8Array(countOrBuffer) : bytesOf(countOrBuffer);
      const model = this.#acknowledging();
      if (!model) throw this.#nack("read failed");
      i2cBusStats.readTransactions++;
      i2cBusStats.bytesRead += into.length;
      model.read(into, true);
      this.#busTime(0, into.length);
      return typeof countOrBuffer === "number" ? (into.buffer as ArrayBuffer) : into.length;
    } finally {
      endSimulatorWork();
    }
  }

  /** one transaction: write `buffer`, repeated START, read into `countOrBuffer` (Moddable's extension, what SMBus uses) */
  writeRead(buffer: IoBuffer, count: number, stop?: boolean): ArrayBuffer;
  writeRead(buffer: IoBuffer, into: IoBuffer, stop?: boolean): number;
  writeRead(buffer: IoBuffer, countOrBuffer: number | IoBuffer, _stop = true): ArrayBuffer | number {
    beginSimulatorWork();
    try {
      const bytes = bytesOf(buffer);
      const into = typeof countOrBuffer === "number" ? new Uint8Array(countOrBuffer) : bytesOf(countOrBuffer);
      const model = this.#acknowledging();
      if (!model) throw this.#nack("writeRead failed");
      i2cBusStats.readTransactions++;
      i2cBusStats.bytesWritten += bytes.length;
      i2cBusStats.bytesRead += into.length;
      // the write and the read may share a buffer (smbus.js's readUint8 does): take the bytes out first
      model.write(into.buffer === bytes.buffer ? bytes.slice() : bytes, false);
      model.read(into, true);
      this.#busTime(bytes.length, into.length);
      return typeof countOrBuffer === "number" ? (into.buffer as ArrayBuffer) : into.length;
    } finally {
      endSimulatorWork();
    }
  }

  close(): void {
    this.#closed = true;
  }

  /** starts a transaction (counted): the model that acknowledges the address, if any */
  #acknowledging(): I2cDeviceModel | undefined {
    if (this.#closed) throw new Error("I2C: closed");
    i2cBusStats.transactions++;
    return i2cDeviceAt(this.#address);
  }

  /**
   * the transaction's time on the bus, charged after the model saw it: the model then reads the
   * part as it was when the transaction began, and samples arriving during a long burst land after it
   */
  #busTime(writeBytes: number, readBytes: number): void {
    chargeDeviceTime(i2cTransactionUs(this.#hz, writeBytes, readBytes) / 1000);
  }

  /** nothing acknowledged the address: the transaction ended after the address byte */
  #nack(message: string): Error {
    this.#busTime(0, 0);
    return new Error(message);
  }
}
