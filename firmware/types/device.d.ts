// The ECMA-419 host provider instance Moddable installs as the global `device`
// (modules/io/host/provider: device.I2C.default etc.). Other modules add members to
// HostProvider by declaration merging (e.g. firmware/net adds `network`).
interface HostI2CBus {
  io: typeof import("embedded:io/i2c").default;
  data: number;
  clock: number;
  port?: number;
}

interface HostProvider {
  I2C: { default: HostI2CBus };
}

declare const device: HostProvider;
