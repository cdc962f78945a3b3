// The simulated I2C bus: device models by 7-bit address. An address with no model does not
// acknowledge: the host module (host/i2c.ts) then fails the transaction as the ESP32's does.
// Counters let tests check that drivers read in bursts.

export interface I2cDeviceModel {
  /** a write transaction (register pointer first, then data) */
  write(bytes: Uint8Array, stop: boolean): void;
  /** a read transaction filling `into` */
  read(into: Uint8Array, stop: boolean): void;
}

/** transactions (a write-then-read counts once, and as a read), bytes each way */
export const i2cBusStats = { transactions: 0, readTransactions: 0, bytesRead: 0, bytesWritten: 0 };

const devices = new Map<number, I2cDeviceModel>();

export function attachI2cDevice(address: number, model: I2cDeviceModel): void {
  devices.set(address, model);
}

export function detachI2cDevice(address: number): void {
  devices.delete(address);
}

/** the model answering at `address`, or undefined: nothing acknowledges there */
export function i2cDeviceAt(address: number): I2cDeviceModel | undefined {
  return devices.get(address);
}
