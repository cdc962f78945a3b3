// "embedded:io/smbus" on the simulated board: register access over the simulated I2C (ECMA-419 SMBus).
import I2C, { bytesOf, type I2COptions } from "./i2c.js";

type IoBuffer = ArrayBufferLike | ArrayBufferView;

export default class SMBus extends I2C {
  readonly #register = new Uint8Array(1);
  readonly #scratch = new Uint8Array(2);
  readonly #stop: boolean;

  constructor(options: I2COptions & { stop?: boolean }) {
    super(options);
    this.#stop = options.stop ?? false;
  }

  readUint8(register: number): number {
    this.#select(register);
    const one = this.#scratch.subarray(0, 1);
    this.read(one);
    return one[0]!;
  }

  writeUint8(register: number, value: number): void {
    this.write(Uint8Array.of(register, value & 0xff));
  }

  readUint16(register: number, bigEndian = false): number {
    this.#select(register);
    this.read(this.#scratch);
    const [a, b] = this.#scratch as unknown as [number, number];
    return bigEndian ? (a << 8) | b : (b << 8) | a;
  }

  writeUint16(register: number, value: number, bigEndian = false): void {
    const hi = (value >> 8) & 0xff;
    const lo = value & 0xff;
    this.write(Uint8Array.of(register, bigEndian ? hi : lo, bigEndian ? lo : hi));
  }

  readBuffer(register: number, countOrBuffer: number | IoBuffer): ArrayBuffer | undefined {
    this.#select(register);
    return this.read(countOrBuffer as number);
  }

  writeBuffer(register: number, buffer: IoBuffer): void {
    const data = bytesOf(buffer);
    const bytes = new Uint8Array(data.length + 1);
    bytes[0] = register;
    bytes.set(data, 1);
    this.write(bytes);
  }

  readQuick(): void {
    this.read(0);
  }
  writeQuick(): void {
    this.write(new Uint8Array(0));
  }
  receiveByte(): number {
    return new Uint8Array(this.read(1) as ArrayBuffer)[0]!;
  }
  sendByte(command: number): void {
    this.write(Uint8Array.of(command));
  }

  /** register pointer write; a repeated start follows unless the bus was opened with stop: true */
  #select(register: number): void {
    this.#register[0] = register;
    this.write(this.#register, this.#stop);
  }
}
