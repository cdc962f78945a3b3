// The simulated I2C bus: device models by 7-bit address. A transaction to an address with no model
// fails like a NACK on the device. Counters let tests check that drivers read in bursts.

export interface I2cDeviceModel {
  /** a write transaction (register pointer first, then data) */
  write(bytes: Uint8Array, stop: boolean): void;
  /** a read transaction filling `into` */
  read(into: Uint8Array, stop: boolean): void;
}

export const i2cBusStats = { transactions: 0, readTransactions: 0, bytesRead: 0, bytesWritten: 0 };

const devices = new Map<number, I2cDeviceModel>();

export function attachI2cDevice(address: number, model: I2cDeviceModel): void {
  devices.set(address, model);
}

export function detachI2cDevice(address: number): void {
  devices.delete(address);
}

export function i2cDeviceAt(address: number): I2cDeviceModel {
  const model = devices.get(address);
  if (!model) throw new Error(`I2C: no acknowledge from address 0x${address.toString(16)}`);
  return model;
}
