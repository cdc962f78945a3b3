// The seam between accelerometer drivers and the sampler: any part with a FIFO read in bursts.
import type { RangeG } from "../../protocol/messages.js";
import type SMBus from "embedded:io/smbus";

export type SensorPart = "lis3dh" | "adxl345";

/** readFifo() result when the FIFO had overrun: its content was discarded and collection restarted */
export const FIFO_OVERRUN = -1;
/** readFifo() result when the bus failed: the error went to onError */
export const FIFO_ERROR = -2;

/** FIFO depth of both parts, samples (x, y, z sets) */
export const FIFO_DEPTH = 32;

export const STANDARD_GRAVITY_MS2 = 9.80665;

export interface AccelFifoOptions {
  /** requested output data rate, Hz: the part picks the nearest rate it supports at or above */
  rateHz?: number;
  /** full scale, ±g */
  rangeG?: RangeG;
}

/** constructor options, ECMA-419 sensor class pattern: `sensor` carries the io and its options */
export interface AccelFifoSensorOptions extends AccelFifoOptions {
  sensor: {
    io: typeof SMBus;
    data: number;
    clock: number;
    hz?: number;
    address?: number;
    port?: number;
  };
  onError?: (error: Error) => void;
}

/** an open SMBus as ECMA-419 defines it and Moddable implements it: with close() */
export type SMBusIo = SMBus & { close(): void };

/** what the drivers pass to the SMBus constructor */
export interface SMBusOpenOptions {
  data: number;
  clock: number;
  hz: number;
  /** 7-bit address */
  address: number;
  port?: number;
}

/**
 * Opens an SMBus. The SDK 8.2 typings of SMBus (mirrored in types/embedded-io.d.ts) miss close()
 * and type the constructor's options as the I2C constructor's parameter tuple intersected with
 * { stop }, which no options object fits; this is the one place that bridges them (type-level only).
 */
export function openSMBus(io: typeof SMBus, options: SMBusOpenOptions): SMBusIo {
  const SMBusClass = io as unknown as new (options: SMBusOpenOptions) => SMBusIo;
  return new SMBusClass(options);
}

/** What identifies a part: its identity register and the value it must hold. */
export interface PartIdentity {
  part: SensorPart;
  register: number;
  registerName: string;
  expected: number;
  defaultAddress: number;
}

/**
 * Opens the SMBus at the configured (or default) address and checks the identity register, as the
 * ECMA-419 sensor pattern asks: on a missing or wrong part the io is closed and an Error names the
 * address, the value read and the value expected.
 */
export function openIdentifiedSMBus(sensor: AccelFifoSensorOptions["sensor"], identity: PartIdentity): { io: SMBusIo; address: number } {
  const address = sensor.address ?? identity.defaultAddress;
  const io = openSMBus(sensor.io, { hz: 400_000, ...sensor, address });
  let id: number;
  try {
    id = io.readUint8(identity.register);
  } catch (error) {
    io.close();
    throw new Error(`${identity.part}: no device answering at I2C address ${hex(address)} (${(error as Error).message})`);
  }
  if (id !== identity.expected) {
    io.close();
    throw new Error(`${identity.part}: ${identity.registerName} at ${hex(address)} is ${hex(id)}, expected ${hex(identity.expected)} (wrong part or address)`);
  }
  return { io, address };
}

export interface AccelFifoSensor {
  readonly part: SensorPart;
  /** output data rate in force, Hz */
  readonly sampleRateHz: number;
  readonly rangeG: RangeG;
  /** largest magnitude the part can report, m/s² */
  readonly fullScaleMS2: number;
  /** one step of the output (resolution) at the current rate and range, m/s² */
  readonly lsbMS2: number;
  onError?: (error: Error) => void;
  /** changes only the given fields; throws RangeError on a value the part cannot do */
  configure(options: AccelFifoOptions): void;
  /**
   * Reads every sample waiting in the FIFO into `out` (interleaved x, y, z, m/s²; room for
   * FIFO_DEPTH samples). Returns the sample count, FIFO_OVERRUN (FIFO was full: data may have been
   * lost; it is emptied and restarted) or FIFO_ERROR (bus error, reported to onError). Never throws.
   */
  readFifo(out: Float32Array): number;
  /** empties the FIFO and restarts collection (stale samples are dropped) */
  restartFifo(): void;
  /** idempotent */
  close(): void;
}

/** the smallest supported rate at or above `requestedHz` (the largest if none is) */
export function pickRate(supportedHz: readonly number[], requestedHz: number): number {
  for (const rate of supportedHz) if (rate >= requestedHz) return rate;
  return supportedHz[supportedHz.length - 1]!;
}

export function checkRange(rangeG: number): RangeG {
  if (rangeG !== 2 && rangeG !== 4 && rangeG !== 8 && rangeG !== 16) throw new RangeError(`range must be 2, 4, 8 or 16 g, got ${rangeG}`);
  return rangeG;
}

export function hex(value: number): string {
  return `0x${value.toString(16).padStart(2, "0")}`;
}
