// What both accelerometer models share: a register file behind an I2C register pointer, and a
// 32-level FIFO that fills at the configured output data rate as virtual time passes.
// Samples are produced lazily, on each bus transaction, for every ODR tick since the last one.
// FIFO semantics (both datasheets): stream mode discards the oldest entry when a new one arrives
// on a full FIFO; FIFO mode stops collecting when full; bypass keeps only the latest sample.
// The overrun status both parts report is "FIFO full" (after which data may be lost).
import { virtualNowMs } from "../virtual-clock.js";
import type { I2cDeviceModel } from "../i2c-bus.js";
import type { SignalSource } from "../signals/signal-source.js";

export const FIFO_LEVELS = 32;
export type FifoMode = "bypass" | "fifo" | "stream" | "trigger";
const FIFO_MODES: readonly FifoMode[] = ["bypass", "fifo", "stream", "trigger"];

/** a gap longer than this many FIFO depths is skipped rather than simulated sample by sample */
const MAX_CATCH_UP_LEVELS = 4;

export abstract class AccelFifoModel implements I2cDeviceModel {
  readonly registers = new Uint8Array(64);
  /** samples the FIFO lost (arrived while full) since the model started */
  lostSamples = 0;
  /** FIFO entries, raw int16 x,y,z as the part outputs them */
  readonly #fifo = new Int16Array(FIFO_LEVELS * 3);
  #head = 0;
  #count = 0;
  #pointer = 0;
  #startMs = 0;
  #ticks = 0;
  #running = false;
  readonly #signal: SignalSource;
  readonly #value = new Float64Array(3);

  constructor(signal: SignalSource) {
    this.#signal = signal;
  }

  /** output data rate now configured, Hz (0: powered down) */
  protected abstract rateHz(): number;
  /** FIFO mode from the registers */
  protected abstract fifoModeBits(): number;
  /** raw output for one axis, m/s² in (quantised and clipped as the part does) */
  protected abstract quantise(valueMS2: number): number;
  /** register address after `register` within a multi-byte read/write */
  protected abstract nextRegister(register: number, reading: boolean): number;
  /** value of a register as read (status registers are computed) */
  protected abstract readRegister(register: number): number;
  /** side effects of a register write */
  protected abstract onWrite(register: number, value: number): void;
  /** called after a read transaction that touched the output registers (pops the FIFO, for ADXL345) */
  protected abstract afterRead(firstRegister: number, length: number): void;

  /** brings the FIFO up to the current virtual time (bus transactions do this themselves) */
  sync(): void {
    this.catchUp();
  }

  get fifoCount(): number {
    return this.#count;
  }

  fifoMode(): FifoMode {
    return FIFO_MODES[this.fifoModeBits() & 3]!;
  }

  write(bytes: Uint8Array): void {
    this.catchUp();
    if (bytes.length === 0) return;
    let register = bytes[0]!;
    this.#pointer = register;
    for (let i = 1; i < bytes.length; i++) {
      this.registers[register & 0x3f] = bytes[i]!;
      this.onWrite(register & 0x3f, bytes[i]!);
      register = this.nextRegister(register, false);
    }
  }

  read(into: Uint8Array): void {
    this.catchUp();
    const first = this.#pointer;
    let register = first;
    for (let i = 0; i < into.length; i++) {
      into[i] = this.readRegister(register & 0x3f) & 0xff;
      register = this.nextRegister(register, true);
    }
    this.#pointer = register;
    this.afterRead(first & 0x3f, into.length);
  }

  /** restarts sampling time (called when the part leaves power-down or changes rate) */
  protected restartClock(): void {
    this.#startMs = virtualNowMs();
    this.#ticks = 0;
    this.#running = this.rateHz() > 0;
  }

  protected resetFifo(): void {
    this.#head = 0;
    this.#count = 0;
  }

  /** raw value of the FIFO head for axis 0..2 (0 when empty) */
  protected headRaw(axis: number): number {
    return this.#count > 0 ? this.#fifo[this.#head * 3 + axis]! : 0;
  }

  protected popFifo(): void {
    if (this.#count === 0) return;
    this.#head = (this.#head + 1) % FIFO_LEVELS;
    this.#count--;
  }

  /** produces every sample due since the last transaction */
  protected catchUp(): void {
    if (!this.#running) return;
    const rate = this.rateHz();
    const due = Math.floor(((virtualNowMs() - this.#startMs) * rate) / 1000);
    if (due - this.#ticks > FIFO_LEVELS * MAX_CATCH_UP_LEVELS) {
      const skipped = due - this.#ticks - FIFO_LEVELS * MAX_CATCH_UP_LEVELS;
      if (this.fifoMode() !== "bypass") this.lostSamples += skipped;
      this.#ticks += skipped;
    }
    while (this.#ticks < due) {
      this.#signal.sample(this.#ticks / rate, this.#value);
      this.#ticks++;
      this.#store(this.quantise(this.#value[0]!), this.quantise(this.#value[1]!), this.quantise(this.#value[2]!));
    }
  }

  #store(x: number, y: number, z: number): void {
    const mode = this.fifoMode();
    if (mode === "bypass") {
      this.#head = 0;
      this.#count = 0;
    } else if (this.#count === FIFO_LEVELS) {
      this.lostSamples++;
      if (mode === "fifo") return;
      this.popFifo();
    }
    const slot = ((this.#head + this.#count) % FIFO_LEVELS) * 3;
    this.#fifo[slot] = x;
    this.#fifo[slot + 1] = y;
    this.#fifo[slot + 2] = z;
    this.#count++;
  }
}

export const STANDARD_GRAVITY = 9.80665;

export function clampInt(value: number, min: number, max: number): number {
  const rounded = Math.round(value);
  return rounded < min ? min : rounded > max ? max : rounded;
}
