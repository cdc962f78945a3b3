// The global `device`: the ECMA-419 host provider Moddable installs ($MODDABLE/typings/global.d.ts
// types it as the default export of "embedded:provider/builtin"). Mirrored for the io vibewatch
// uses (I2C, SMBus). As in the SDK's typings, `device.I2C.default` is typed as the I2C constructor's
// options; the runtime object carries the bus pins (data, clock, port) and its io class.
declare module "embedded:provider/builtin" {
  import type I2C from "embedded:io/i2c";
  import type SMBus from "embedded:io/smbus";
  import type { PinSpecifier } from "embedded:io/_common";
  const device: {
    io: {
      I2C: typeof I2C;
      SMBus: typeof SMBus;
    };
    I2C: { default: ConstructorParameters<typeof I2C>[0] };
    SMBus: { default: ConstructorParameters<typeof SMBus>[0] };
    pin: { [name: string]: PinSpecifier };
  };
  export default device;
}

// eslint-disable-next-line no-var -- as in the SDK typings: a var, so globalThis.device is typed too
declare var device: typeof import("embedded:provider/builtin").default;
