// What the FIFO drivers share: opening the bus (I2C through SMBus, or 4-wire SPI), the identity
// check, configure() (validation, then the part's registers), readFifo() (errors to onError, byte
// views over the caller's buffer made once per buffer) and close(). A driver adds its registers:
// which rates it has, how to program rate and range, how to restart and drain its FIFO.
// ECMA-419 sensor class pattern: a missing or wrong part closes the io and throws an Error naming
// where it looked, the value read and the value expected.
import {
  FIFO_DEPTH, FIFO_ERROR, STANDARD_GRAVITY_MS2, checkRange, hex, openSMBus, openSPI, pickRate,
  type AccelFifoOptions, type AccelFifoSensor, type AccelFifoSensorOptions, type SensorPart, type SpiSensorBus,
} from "./accel-fifo-sensor.js";
import { SpiRegisterIo } from "./spi-register-io.js";
import type { RangeG } from "../../protocol/messages.js";

/** register access as the drivers use it: SMBus (I2C) has exactly this shape; SpiRegisterIo adds it over SPI */
export interface RegisterIo {
  readUint8(register: number): number;
  writeUint8(register: number, value: number): void;
  /** reads into.byteLength bytes from `register` on (auto-increment as the part and bus define) */
  readBuffer(register: number, into: Uint8Array): void;
  close(): void;
}

/** What identifies a part: its identity register and the value it must hold; whether it speaks SPI. */
export interface PartIdentity {
  part: SensorPart;
  register: number;
  registerName: string;
  expected: number;
  defaultAddress: number;
  /** the part's SPI mode (CPOL << 1 | CPHA) and maximum clock; absent: the driver speaks I2C only */
  spi?: { mode: number; maxHz: number };
}

interface OpenBus {
  io: RegisterIo;
  /** where the part was looked for, in the words of the errors */
  at: string;
  missing: string;
  wrong: string;
}

function openBus(sensor: AccelFifoSensorOptions["sensor"], identity: PartIdentity): OpenBus {
  if ("data" in sensor) {
    const address = sensor.address ?? identity.defaultAddress;
    const io = openSMBus(sensor.io, { hz: 400_000, ...sensor, address });
    return { io, at: `at ${hex(address)}`, missing: `at I2C address ${hex(address)}`, wrong: "wrong part or address" };
  }
  const at = `on SPI (select pin ${sensor.select})`;
  return { io: new SpiRegisterIo(openSPI(sensor.io, spiOptions(sensor, identity))), at, missing: at, wrong: "wrong part or wiring" };
}

function spiOptions(sensor: SpiSensorBus, identity: PartIdentity): ConstructorParameters<typeof sensor.io>[0] {
  const { part, spi } = identity;
  if (!spi) throw new Error(`${part}: this driver speaks I2C only`);
  const { clock, in: miso, out, select, port = 1 } = sensor;
  if (select === undefined) throw new Error(`${part}: SPI needs a select (chip select) pin: a transaction ends when it rises`);
  const hz = sensor.hz ?? spi.maxHz;
  if (!(hz > 0 && hz <= spi.maxHz)) throw new RangeError(`${part}: SPI clock must be 1..${spi.maxHz} Hz, got ${hz}`);
  return { clock, in: miso, out, select, port, hz, mode: spi.mode, active: 0 }; // chip select active low
}

/** opens the bus and checks the identity register; on a missing or wrong part closes the io and throws */
export function openPart(sensor: AccelFifoSensorOptions["sensor"], identity: PartIdentity): RegisterIo {
  const { io, at, missing, wrong } = openBus(sensor, identity);
  let id: number;
  try {
    id = io.readUint8(identity.register);
  } catch (error) {
    io.close();
    throw new Error(`${identity.part}: no device answering ${missing} (${(error as Error).message})`);
  }
  if (id !== identity.expected) {
    io.close();
    throw new Error(`${identity.part}: ${identity.registerName} ${at} is ${hex(id)}, expected ${hex(identity.expected)} (${wrong})`);
  }
  return io;
}

/** the caller's buffer is big enough for a full FIFO (x, y, z per level) */
function checkBlock(out: Int16Array): void {
  if (out.length < FIFO_DEPTH * 3) throw new RangeError(`readFifo: the buffer holds ${out.length} words, a full FIFO needs ${FIFO_DEPTH * 3}`);
}

/** byte views of `out` holding the first n samples, n = 0..FIFO_DEPTH (one burst of n samples) */
export function burstViews(out: Int16Array): Uint8Array[] {
  checkBlock(out);
  const views: Uint8Array[] = [];
  for (let n = 0; n <= FIFO_DEPTH; n++) views.push(new Uint8Array(out.buffer, out.byteOffset, n * 6));
  return views;
}

/** one 6-byte view of `out` per sample (one read per FIFO entry) */
export function entryViews(out: Int16Array): Uint8Array[] {
  checkBlock(out);
  const views: Uint8Array[] = [];
  for (let i = 0; i < FIFO_DEPTH; i++) views.push(new Uint8Array(out.buffer, out.byteOffset + i * 6, 6));
  return views;
}

export abstract class FifoDriver implements AccelFifoSensor {
  readonly part: SensorPart;
  onError?: (error: Error) => void;
  #io: RegisterIo | undefined;
  #rateHz: number;
  #rangeG: RangeG;
  /** the buffer #views were made over */
  #viewsOf: Int16Array | undefined;
  #views: Uint8Array[] = [];

  /** opens and identifies the part, then configures it (defaults under the caller's options); closes the io on failure */
  protected constructor(options: AccelFifoSensorOptions, identity: PartIdentity, defaults: { rateHz: number; rangeG: RangeG }) {
    this.part = identity.part;
    this.#rateHz = defaults.rateHz;
    this.#rangeG = defaults.rangeG;
    this.#io = openPart(options.sensor, identity);
    this.onError = options.onError;
    try {
      this.configure({ rateHz: options.rateHz ?? defaults.rateHz, rangeG: options.rangeG ?? defaults.rangeG });
    } catch (error) {
      this.close();
      throw error;
    }
  }

  /** rates the part supports, Hz, ascending */
  protected abstract get ratesHz(): readonly number[];
  abstract get lsbMS2(): number;
  abstract get countMS2(): number;
  /** writes the rate and range registers (the FIFO is restarted afterwards) */
  protected abstract program(io: RegisterIo, rateHz: number, rangeG: RangeG): void;
  /** the byte views drain() reads into, over the caller's buffer */
  protected abstract fifoViews(out: Int16Array): Uint8Array[];
  /** reads the FIFO through `views`: the sample count or FIFO_OVERRUN; throws on a bus error */
  protected abstract drain(io: RegisterIo, views: readonly Uint8Array[]): number;
  abstract restartFifo(): void;

  get sampleRateHz(): number {
    return this.#rateHz;
  }
  get rangeG(): RangeG {
    return this.#rangeG;
  }
  get fullScaleMS2(): number {
    return this.#rangeG * STANDARD_GRAVITY_MS2;
  }

  configure(options: AccelFifoOptions): void {
    const io = this.io();
    let rateHz = this.#rateHz;
    if (options.rateHz !== undefined) {
      if (!(options.rateHz > 0)) throw new RangeError(`${this.part}: rate must be > 0 Hz, got ${options.rateHz}`);
      rateHz = pickRate(this.ratesHz, options.rateHz);
    }
    const rangeG = options.rangeG === undefined ? this.#rangeG : checkRange(options.rangeG);
    this.#rateHz = rateHz;
    this.#rangeG = rangeG;
    this.program(io, rateHz, rangeG);
    this.restartFifo();
  }

  readFifo(out: Int16Array): number {
    try {
      const io = this.io();
      if (out !== this.#viewsOf) {
        this.#views = this.fifoViews(out);
        this.#viewsOf = out;
      }
      return this.drain(io, this.#views);
    } catch (error) {
      this.onError?.(error as Error);
      return FIFO_ERROR;
    }
  }

  close(): void {
    const io = this.#io;
    this.#io = undefined;
    io?.close();
  }

  protected io(): RegisterIo {
    if (!this.#io) throw new Error(`${this.part}: closed`);
    return this.#io;
  }
}
