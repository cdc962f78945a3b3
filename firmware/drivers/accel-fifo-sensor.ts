// The seam between accelerometer drivers and the sampler: any part with a FIFO read in bursts.
// Block ingestion: readFifo() hands over the part's raw int16 words as read (no per-sample work in
// JavaScript); countMS2 says what one unit of those words is worth.
import type { RangeG } from "../../protocol/messages.js";
import type SMBus from "embedded:io/smbus";
import type SPI from "embedded:io/spi";

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

/** the part on I2C: `{ ...device.I2C.default, io: SMBus, address? }` */
export interface I2cSensorBus {
  io: typeof SMBus;
  data: number;
  clock: number;
  hz?: number;
  address?: number;
  port?: number;
}

/** the part on 4-wire SPI (ECMA-419 SPI); the driver sets the part's SPI mode and chip-select level */
export interface SpiSensorBus {
  io: typeof SPI;
  clock: number;
  /** MISO (the part's SDO) */
  in: number;
  /** MOSI (the part's SDI) */
  out: number;
  /** chip select (the part's CS), driven by the io: required, a transaction ends when it rises */
  select: number;
  /** default (and most) the part's maximum SPI clock */
  hz?: number;
  /** ESP32: the SPI host (1: SPI2/HSPI) */
  port?: number;
}

/** constructor options, ECMA-419 sensor class pattern: `sensor` carries the io and its options */
export interface AccelFifoSensorOptions extends AccelFifoOptions {
  sensor: I2cSensorBus | SpiSensorBus;
  onError?: (error: Error) => void;
}

/** an open SMBus as ECMA-419 defines it and Moddable implements it: with close() */
export type SMBusIo = SMBus & { close(): void };

/** an open SPI, with close(), which the SDK 8.2 typings of SPI miss as they miss SMBus's */
export type SPIIo = SPI & { close(): void };

/** Opens an SPI; bridges only the missing close() of the SDK's typings (type-level only). */
export function openSPI(io: typeof SPI, options: ConstructorParameters<typeof SPI>[0]): SPIIo {
  return new io(options) as SPIIo;
}

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

export interface AccelFifoSensor {
  readonly part: SensorPart;
  /** output data rate in force, Hz */
  readonly sampleRateHz: number;
  readonly rangeG: RangeG;
  /** largest magnitude the part can report, m/s² */
  readonly fullScaleMS2: number;
  /** one step of the output (resolution) at the current rate and range, m/s² */
  readonly lsbMS2: number;
  /**
   * m/s² per unit of the int16 words readFifo() delivers, at the current rate and range (the words
   * as the part outputs them: LIS3DH left-justified, so lsbMS2 / 16 or / 256; ADXL345 = lsbMS2)
   */
  readonly countMS2: number;
  onError?: (error: Error) => void;
  /** changes only the given fields; throws RangeError on a value the part cannot do */
  configure(options: AccelFifoOptions): void;
  /**
   * Reads every sample waiting in the FIFO into `out`: the part's raw int16 words exactly as read
   * (interleaved x, y, z; m/s² = word × countMS2), room for FIFO_DEPTH samples. The bus reads land
   * in `out` itself (byte views over it, made once per distinct buffer: a caller that passes the
   * same Int16Array every time allocates nothing). Returns the sample count, FIFO_OVERRUN (FIFO was
   * full: data may have been lost; it is emptied and restarted) or FIFO_ERROR (bus error, or `out`
   * too short, reported to onError). Never throws.
   */
  readFifo(out: Int16Array): number;
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
