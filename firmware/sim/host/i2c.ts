// "embedded:io/i2c" on the simulated board (ECMA-419 I2C, synchronous, as Moddable's).
import { i2cBusStats, i2cDeviceAt } from "../i2c-bus.js";

type IoBuffer = ArrayBufferLike | ArrayBufferView;

export interface I2COptions {
  data: number;
  clock: number;
  hz: number;
  address: number;
  port?: number;
  format?: "buffer";
}

export function bytesOf(buffer: IoBuffer): Uint8Array {
  return ArrayBuffer.isView(buffer) ? new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength) : new Uint8Array(buffer);
}

export default class I2C {
  readonly #address: number;
  #closed = false;

  constructor(options: I2COptions) {
    const { address, hz } = options;
    if (!Number.isInteger(address) || address < 0 || address > 0x7f) throw new RangeError(`I2C: invalid 7-bit address ${address}`);
    if (!(hz > 0)) throw new RangeError(`I2C: invalid hz ${hz}`);
    this.#address = address;
  }

  get resolution(): number {
    return 8;
  }
  get format(): "buffer" {
    return "buffer";
  }
  set format(value: "buffer") {
    if (value !== "buffer") throw new RangeError(`I2C: unsupported format ${String(value)}`);
  }

  write(buffer: IoBuffer, stop = true): void {
    const bytes = bytesOf(buffer);
    const model = this.#device();
    i2cBusStats.transactions++;
    i2cBusStats.bytesWritten += bytes.length;
    model.write(bytes, stop);
  }

  read(countOrBuffer: number | IoBuffer, stop = true): ArrayBuffer | undefined {
    const model = this.#device();
    const into = typeof countOrBuffer === "number" ? new Uint8Array(countOrBuffer) : bytesOf(countOrBuffer);
    i2cBusStats.transactions++;
    i2cBusStats.readTransactions++;
    i2cBusStats.bytesRead += into.length;
    model.read(into, stop);
    return typeof countOrBuffer === "number" ? (into.buffer as ArrayBuffer) : undefined;
  }

  close(): void {
    this.#closed = true;
  }

  #device() {
    if (this.#closed) throw new Error("I2C: closed");
    return i2cDeviceAt(this.#address);
  }
}
