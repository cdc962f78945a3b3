// ECMA-419 io classes the firmware imports, as Moddable implements them
// (typings/embedded_io/_common.d.ts, i2c.d.ts, smbus.d.ts; documentation/io/io.md).
declare module "embedded:io/_common" {
  export type PinSpecifier = number;
  export type PortSpecifier = number;
  export type Buffer = ArrayBufferLike | ArrayBufferView;
}

declare module "embedded:io/i2c" {
  import type { Buffer, PinSpecifier, PortSpecifier } from "embedded:io/_common";
  export interface I2COptions {
    data: PinSpecifier;
    clock: PinSpecifier;
    hz: number;
    /** 7-bit address */
    address: number;
    port?: PortSpecifier;
    format?: "buffer";
  }
  class I2C {
    constructor(options: I2COptions);
    readonly resolution: number;
    write(value: Buffer, stop?: boolean): void;
    read(byteLength: number, stop?: boolean): ArrayBuffer;
    read(buffer: Buffer, stop?: boolean): void;
    close(): void;
    get format(): "buffer";
    set format(value: "buffer");
  }
  export default I2C;
}

declare module "embedded:io/smbus" {
  import I2C, { type I2COptions } from "embedded:io/i2c";
  import type { Buffer } from "embedded:io/_common";
  class SMBus extends I2C {
    constructor(options: I2COptions & { stop?: boolean });
    readUint8(register: number): number;
    writeUint8(register: number, value: number): void;
    readUint16(register: number, bigEndian?: boolean): number;
    writeUint16(register: number, value: number, bigEndian?: boolean): void;
    readBuffer(register: number, byteLength: number): ArrayBuffer;
    readBuffer(register: number, buffer: Buffer): void;
    writeBuffer(register: number, buffer: Buffer): void;
    readQuick(): void;
    writeQuick(): void;
    receiveByte(): number;
    sendByte(command: number): void;
  }
  export default SMBus;
}
