// "embedded:io/smbus" on the simulated board: register access over the simulated I2C (ECMA-419
// SMBus), done as the Moddable SDK's modules/io/i2c/smbus.js does it on the ESP32, so a register
// read is one I2C transaction (writeRead: register, repeated START, data), fails as that does
// ("writeRead failed"), and costs its time on the bus. This JavaScript is the device's too
// (smbus.js is JavaScript on the ESP32): its computrons are charged like the firmware's.
import I2C, { bytesOf, type I2COptions } from "./i2c.js";

type IoBuffer = ArrayBufferLike | ArrayBufferView;

export default class SMBus extends I2C {
  readonly #stop: boolean;
  readonly #writeWord = new Uint8Array(3);
  readonly #word = new Uint8Array(this.#writeWord.buffer, 0, 2);
  readonly #byte = new Uint8Array(this.#writeWord.buffer, 0, 1);

  constructor(options: I2COptions & { stop?: boolean }) {
    super(options);
    this.#stop = options.stop ?? false;
  }

  readUint8(register: number): number {
    const buffer = this.#byte;
    buffer[0] = register;
    this.writeRead(buffer, buffer, this.#stop);
    return buffer[0]!;
  }

  readUint16(register: number, bigEndian = false): number {
    const buffer = this.#word;
    this.#byte[0] = register;
    this.writeRead(this.#byte, buffer, this.#stop);
    return bigEndian ? (buffer[0]! << 8) | buffer[1]! : (buffer[1]! << 8) | buffer[0]!;
  }

  readBuffer(register: number, countOrBuffer: number | IoBuffer): ArrayBuffer | number {
    this.#byte[0] = register;
    return typeof countOrBuffer === "number" ? this.writeRead(this.#byte, countOrBuffer, this.#stop) : this.writeRead(this.#byte, countOrBuffer, this.#stop);
  }

  writeUint8(register: number, value: number): void {
    const buffer = this.#word;
    buffer[0] = register;
    buffer[1] = value;
    this.write(buffer);
  }

  writeUint16(register: number, value: number, bigEndian = false): void {
    const buffer = this.#writeWord;
    buffer[0] = register;
    buffer[1] = bigEndian ? value >> 8 : value;
    buffer[2] = bigEndian ? value : value >> 8;
    this.write(buffer);
  }

  writeBuffer(register: number, buffer: IoBuffer): void {
    if (ArrayBuffer.isView(buffer) && ((buffer as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1) > 1) throw new TypeError(); // not a byte buffer
    const bytes = bytesOf(buffer);
    const data = new Uint8Array(1 + bytes.length);
    data[0] = register;
    data.set(bytes, 1);
    this.write(data);
  }

  sendByte(command: number): void {
    this.#byte[0] = command;
    this.write(this.#byte);
  }

  receiveByte(): number {
    this.read(this.#byte);
    return this.#byte[0]!;
  }

  readQuick(): void {
    this.read(0);
  }

  writeQuick(): void {
    this.write(new ArrayBuffer(0));
  }
}
