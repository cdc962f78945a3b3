// "embedded:io/spi" on the simulated board (ECMA-419 SPI controller, synchronous, as Moddable's
// modules/io/spi): device models hang on chip-select pins. As in Moddable's implementation, chip
// select is asserted by the first write/read/transfer and stays asserted across calls until
// flush(true) (or close()) raises it: a transaction is everything between the two edges.
// Each byte is exchanged full-duplex with the selected model. A transaction the part cannot
// understand (SPI mode, clock or chip-select polarity other than the part's) reaches no model and
// reads 0xff, as would an empty select line (MISO idles high here). Counters (spiBusStats) let
// tests check the framing: transactions (chip-select cycles), transfers (calls), bytes.
// Time: each write/read/transfer call is one spi_device_transmit() in Moddable's ESP32 SPI
// (modules/pins/spi/esp32/modSPI.c), so each costs 8 bits per byte at `hz` plus that call's fixed
// overhead (device-cost-model.ts, spiTransferUs), charged to the virtual clock; this module's own
// JavaScript and the model's work are simulator work (C and silicon on the device). Constructor
// errors carry the texts of Moddable's modules/io/spi/esp/spi.c (a missing clock pin: "invalid";
// "invalid hz": 1..40 MHz, "invalid active", "invalid mode", "in or out required").
import { bytesOf } from "./i2c.js";
import { spiTransferUs } from "../device-cost-model.js";
import { beginSimulatorWork, chargeDeviceTime, endSimulatorWork } from "../virtual-clock.js";

type IoBuffer = ArrayBufferLike | ArrayBufferView;

/** a part on the SPI bus, seen from its pins */
export interface SpiDeviceModel {
  /** SPI mode the part speaks (CPOL << 1 | CPHA), its maximum clock, its chip-select active level */
  readonly spiMode: number;
  readonly spiMaxHz: number;
  readonly spiSelectActive: 0 | 1;
  /** chip select asserted: a transaction begins */
  spiSelect(): void;
  /** one byte each way: MOSI in, MISO out */
  spiExchange(mosi: number): number;
  /** chip select released: the transaction ends */
  spiDeselect(): void;
}

export const spiBusStats = { transactions: 0, transfers: 0, bytesOut: 0, bytesIn: 0, misframed: 0 };

const devices = new Map<number, SpiDeviceModel>();

export function attachSpiDevice(select: number, model: SpiDeviceModel): void {
  devices.set(select, model);
}

export function detachSpiDevice(select: number): void {
  devices.delete(select);
}

export interface SPIOptions {
  clock: number;
  in?: number;
  out?: number;
  select?: number;
  active?: 0 | 1;
  hz: number;
  mode?: number;
  port?: number;
  format?: "buffer";
}

export default class SPI {
  readonly #select: number | undefined;
  readonly #active: 0 | 1;
  readonly #hz: number;
  readonly #mode: number;
  readonly #hasIn: boolean;
  #closed = false;
  /** the model this transaction reaches (undefined: none, or not understood); null: not selected */
  #selected: SpiDeviceModel | undefined | null = null;

  constructor(options: SPIOptions) {
    const { hz, mode = 0, active = 0 } = options;
    if (options.clock === undefined) throw new Error("invalid"); // builtinGetPin of undefined
    if (!(hz >= 1 && hz <= 40_000_000)) throw new RangeError("invalid hz");
    if (active !== 0 && active !== 1) throw new RangeError("invalid active");
    if (!Number.isInteger(mode) || (mode & ~3) !== 0) throw new RangeError("invalid mode");
    if (options.in === undefined && options.out === undefined) throw new Error("in or out required");
    this.#select = options.select;
    this.#active = active;
    this.#hz = hz;
    this.#mode = mode;
    this.#hasIn = options.in !== undefined;
  }

  get format(): "buffer" {
    return "buffer";
  }
  set format(value: "buffer") {
    if (value !== "buffer") throw new RangeError(`SPI: unsupported format ${String(value)}`);
  }

  write(buffer: IoBuffer): void {
    beginSimulatorWork();
    try {
      this.#exchange(bytesOf(buffer), false);
    } finally {
      endSimulatorWork();
    }
  }

  /** full duplex: `buffer` goes out and is replaced by what came in */
  transfer(buffer: IoBuffer): void {
    beginSimulatorWork();
    try {
      this.#exchange(bytesOf(buffer), true);
    } finally {
      endSimulatorWork();
    }
  }

  /** clocks out zeros; what comes in is returned (a count) or stored (a buffer) */
  read(countOrBuffer: number | IoBuffer): ArrayBuffer | undefined {
    beginSimulatorWork();
    try {
      const into = typeof countOrBuffer === "number" ? new Uint8Array(countOrBuffer) : bytesOf(countOrBuffer);
      into.fill(0);
      this.#exchange(into, true);
      return typeof countOrBuffer === "number" ? (into.buffer as ArrayBuffer) : undefined;
    } finally {
      endSimulatorWork();
    }
  }

  /** the calls are synchronous, so only the deselect remains to do (a GPIO write: no time charged) */
  flush(deselect?: boolean): void {
    beginSimulatorWork();
    try {
      if (this.#closed) throw new Error("SPI: closed");
      if (deselect) this.#deselect();
    } finally {
      endSimulatorWork();
    }
  }

  close(): void {
    if (this.#closed) return;
    beginSimulatorWork();
    try {
      this.#deselect();
      this.#closed = true;
    } finally {
      endSimulatorWork();
    }
  }

  /** one spi_device_transmit(): inside simulator work (the public methods' own) */
  #exchange(bytes: Uint8Array, reading: boolean): void {
    if (this.#closed) throw new Error("SPI: closed");
    if (this.#selected === null) this.#begin();
    const model = this.#selected;
    spiBusStats.transfers++;
    spiBusStats.bytesOut += bytes.length;
    if (reading) spiBusStats.bytesIn += bytes.length;
    for (let i = 0; i < bytes.length; i++) {
      const miso = model ? model.spiExchange(bytes[i]!) & 0xff : 0xff;
      if (reading) bytes[i] = this.#hasIn ? miso : 0xff;
    }
    // after the model saw the bytes, as the I2C host charges (the part is read as the call began)
    chargeDeviceTime(spiTransferUs(this.#hz, bytes.length) / 1000);
  }

  #begin(): void {
    spiBusStats.transactions++;
    const model = this.#select === undefined ? undefined : devices.get(this.#select);
    const understood = model && model.spiMode === this.#mode && this.#hz <= model.spiMaxHz && model.spiSelectActive === this.#active;
    if (model && !understood) spiBusStats.misframed++;
    this.#selected = understood ? model : undefined;
    this.#selected?.spiSelect();
  }

  #deselect(): void {
    if (this.#selected === null) return;
    this.#selected?.spiDeselect();
    this.#selected = null;
  }
}
