// ECMA-419 io classes as the Moddable SDK 8.2 types them ($MODDABLE/typings/embedded_io/_common.d.ts,
// i2c.d.ts, smbus.d.ts, spi.d.ts), mirrored name for name so `tsc -p firmware` fails where mcconfig fails.
// Two gaps of the SDK's typings are kept on purpose (code bridges them in one place,
// drivers/accel-fifo-sensor.ts openSMBus / openSPI): close() is not declared although ECMA-419
// requires it and Moddable implements it (I2C, SMBus, SPI), and SMBus's constructor options are typed
// as the I2C constructor's parameter *tuple* (ConstructorParameters<...>) intersected with { stop },
// which no object fits.
/* eslint-disable @typescript-eslint/no-explicit-any -- mirrors the SDK typings, which say `any` here */
declare module "embedded:io/_common" {
  export type PinSpecifier = number;
  export type PortSpecifier = number;
}

declare module "embedded:io/i2c" {
  import type { PinSpecifier, PortSpecifier } from "embedded:io/_common";
  class I2C {
    constructor(options: {
      data: PinSpecifier;
      clock: PinSpecifier;
      hz: number;
      /** 7-bit address */
      address: number;
      port?: PortSpecifier;
      format?: "buffer";
      target?: any;
    });
    readonly resolution: number;
    write(value: ByteBuffer, stop?: boolean): void;
    read(byteLength: number, stop?: boolean): ArrayBuffer;
    read(buffer: ByteBuffer, stop?: boolean): number;
    get format(): "buffer";
    set format(value: "buffer");
  }
  export default I2C;
}

declare module "embedded:io/smbus" {
  import I2C from "embedded:io/i2c";
  class SMBus extends I2C {
    constructor(options: ConstructorParameters<typeof I2C> & { stop?: boolean });
    readUint8(register: number): number;
    writeUint8(register: number, value: number): void;
    readUint16(register: number, bigEndian?: boolean): number;
    writeUint16(register: number, value: number, bigEndian?: boolean): void;
    readBuffer(register: number, byteLength: number): ArrayBuffer;
    readBuffer(register: number, buffer: ByteBuffer): void;
    writeBuffer(register: number, buffer: ByteBuffer): void;
    readQuick(): void;
    writeQuick(): void;
    receiveByte(): number;
    sendByte(command: number): void;
  }
  export default SMBus;
}

declare module "embedded:io/spi" {
  import type { PinSpecifier, PortSpecifier } from "embedded:io/_common";
  class SPI {
    constructor(options: {
      out?: PinSpecifier;
      in?: PinSpecifier;
      clock: PinSpecifier;
      select?: PinSpecifier;
      active?: 1 | 0;
      hz: number;
      mode?: number;
      port?: PortSpecifier;
      format?: "buffer";
      target?: any;
    });
    read(byteLength: number): ArrayBuffer;
    read(buffer: ByteBuffer): void;
    write(buffer: ByteBuffer): void;
    transfer(buffer: ByteBuffer): void;
    flush(deselect?: boolean): void;
    get format(): "buffer";
    set format(value: "buffer");
  }
  export default SPI;
}
