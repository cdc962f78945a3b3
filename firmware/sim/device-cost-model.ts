// What things cost on the ESP32, as the simulator's clock charges them (virtual-clock.ts holds the
// mechanism; firmware/README.md, "Time in the simulator", the whole model). Three kinds of cost:
// - XS computrons (bytecodes the interpreter ran) × ESP32_US_PER_COMPUTRON, for all JavaScript.
// - The native DSP core's C, per host-function call (C runs no bytecode: ~0 computrons).
// - Bus transactions: bits ÷ clock + the ESP-IDF driver call's fixed overhead.
// The calibration figures come from bench:firmware (session of 2026-12-03: x86 instructions per
// 2048-sample window from valgrind --tool=callgrind over the XS worker, × 0.865 ESP32 cycles per
// instruction, from ESP-DSP's published cycles for its plain-C radix-2 float FFT against our C FFT's
// instructions at the same size, at 240 MHz): see firmware/README.md, "Device cost".
import type { DspCoreKind } from "../dsp/dsp-core.js";

/**
 * bench:firmware's estimated ESP32 ms for one whole 2048-sample, 3-axis window (its 64 block
 * pushes, the analysis and the analyzer's policy), from callgrind: native 1,500,298 x86
 * instructions, the TypeScript reference 155,660,877 (a floor: XS doubles are software on the
 * ESP32; the issue's own estimate was ~1,200 ms). Not charged as such: the reference figure
 * calibrates ESP32_US_PER_COMPUTRON, and the native one is what computrons + NATIVE_* reproduce.
 */
export const ANALYSIS_DEVICE_MS_AT_2048: Readonly<Record<DspCoreKind, number>> = Object.freeze({ native: 5.41, reference: 561 });

/**
 * Computrons of one TypeScript-reference window in the simulator's XS worker: bench:firmware's
 * workload (3200 Hz, 2048 × 3, hop 2048, 32-sample pushBlock()s, after 5 warm-up windows), the
 * crank's meterUsage.compute for K = 4 windows minus that for none, / K; measured 2026-12-03 in
 * this session, identical in 3 rounds (the count is deterministic). The same workload with the
 * native core: 12,778 computrons per window (the analyzer's JavaScript around the C).
 */
export const REFERENCE_WINDOW_COMPUTRONS = 3_628_121;

/**
 * ESP32 µs per XS computron: the reference window's estimated 561 ms over its 3,628,121
 * computrons = 0.1546 µs (37 cycles at 240 MHz per bytecode). The same callgrind run puts 42.9
 * x86 instructions behind each computron of the reference, 43.8 behind each of the native path's
 * JavaScript: one factor fits both.
 */
export const ESP32_US_PER_COMPUTRON = (ANALYSIS_DEVICE_MS_AT_2048.reference * 1000) / REFERENCE_WINDOW_COMPUTRONS;

/** ESP32 cycles per x86 instruction (bench:firmware's FFT calibration) and the CPU clock */
const ESP32_CYCLES_PER_X86_INSTRUCTION = 0.865;
const ESP32_HZ = 240e6;
const x86InstructionsToUs = (instructions: number): number => (instructions * ESP32_CYCLES_PER_X86_INSTRUCTION * 1e6) / ESP32_HZ;

/**
 * xs_vwdsp_analyse (its C, the host function included) for one 2048-sample window: 891,110 x86
 * instructions (callgrind, inclusive, per window, K = 20 windows minus none) → 3.21 ms. Other
 * window lengths scale as N·log2 N (the FFTs dominate).
 */
export const NATIVE_ANALYSE_DEVICE_MS_AT_2048 = x86InstructionsToUs(891_110) / 1000;
/**
 * xs_vwdsp_push per sample: 49,467 x86 instructions per 2048-sample window in 64 calls (the same
 * run) → 0.087 µs per sample. Charged per call, in the poll that pushes (its own share), not folded
 * into analyse: the FIFO budget is per poll, and folding would move earlier polls' cost into the
 * poll that completes the window.
 */
export const NATIVE_PUSH_DEVICE_US_PER_SAMPLE = x86InstructionsToUs(49_467 / 2048);
// Check: 3.21 ms + 2048 × 0.087 µs + 12,778 computrons × 0.1546 µs = 5.37 ms per window, against
// bench:firmware's 5.41 ms for the whole window (the rest: the native path's JavaScript takes 43.8
// x86 instructions per computron, the reference's 42.9, from which the factor comes).

/**
 * Fixed cost of one spi_device_transmit() (Moddable's ESP32 SPI: one interrupt transaction per
 * write/read/transfer call): ESP-IDF's SPI Master Driver guide for the ESP32, "Transfer Speed
 * Considerations": an interrupt transaction costs 20 + 8n/f µs, "Transaction Interval" 25 µs in its
 * table (28 µs typical for one byte via DMA)
 * (https://docs.espressif.com/projects/esp-idf/en/latest/esp32/api-reference/peripherals/spi_master.html).
 */
export const SPI_TRANSACTION_OVERHEAD_US = 25;

/**
 * Fixed cost of one i2c_master_transmit / _receive / _transmit_receive (Moddable's ESP32 I2C, the
 * IDF 5 driver): ASSUMED 25 µs, like the SPI driver's interrupt transaction, which has the same
 * shape (bus lock, ISR, the task woken by a FreeRTOS primitive). ESP-IDF documents no figure for
 * I2C; espressif/esp-idf#15675 measured 35 µs idle gaps inside one i2c_master_transmit_receive on an
 * ESP32 under IDF 5.4.0 (about 9 µs with the legacy driver), since fixed: 25 µs is neither extreme.
 */
export const I2C_TRANSACTION_OVERHEAD_US = 25;

/**
 * One I2C transaction on the wire, µs: START, the address byte and each data byte (9 bits: 8 + the
 * ACK), a repeated START and second address byte when a write phase precedes a read (SMBus
 * register reads: writeRead), STOP; START, repeated START and STOP counted as one bit time each.
 * `writeBytes` 0 and `readBytes` 0 is an address-only transaction (a probe, or a NACKed address).
 */
export function i2cTransactionUs(hz: number, writeBytes: number, readBytes: number): number {
  const writePhase = writeBytes > 0 || readBytes === 0;
  let bits = 2; // START, STOP
  if (writePhase) bits += 9 * (1 + writeBytes);
  if (readBytes > 0) bits += 9 * (1 + readBytes) + (writePhase ? 1 : 0);
  return (bits * 1e6) / hz + I2C_TRANSACTION_OVERHEAD_US;
}

/** one SPI call (write, read or transfer: one spi_device_transmit), µs: 8 bits per byte at hz */
export function spiTransferUs(hz: number, bytes: number): number {
  return (bytes * 8 * 1e6) / hz + SPI_TRANSACTION_OVERHEAD_US;
}

const windowScale = (windowSamples: number): number => (windowSamples * Math.log2(windowSamples)) / (2048 * 11);

/** the window length each native DSP handle was configured with (xs_vwdsp_configure's 2nd argument) */
const windowSamplesOf = new WeakMap<object, number>();

type NativeCost = (args: readonly unknown[], result: unknown) => number;

/**
 * ESP32 ms a call of a native DSP host function costs, by name (firmware/dsp/native/dsp-binding.c;
 * the signatures are native-core.ts's). Functions not listed cost nothing (create, version, reset;
 * configure only records the window length).
 */
export const NATIVE_DEVICE_COSTS: Readonly<Record<string, NativeCost>> = Object.freeze({
  xs_vwdsp_configure: (args: readonly unknown[]) => {
    const [handle, windowSamples] = args;
    if (typeof handle === "object" && handle !== null) windowSamplesOf.set(handle, Number(windowSamples));
    return 0;
  },
  // (handle, block, byteOffset, count) → samples taken
  xs_vwdsp_push: (_args: readonly unknown[], taken: unknown) => (Number(taken) * NATIVE_PUSH_DEVICE_US_PER_SAMPLE) / 1000,
  // (handle, features) → 1 when a window was analysed, 0 when none was ready (a few instructions)
  xs_vwdsp_analyse: (args: readonly unknown[], analysed: unknown) => {
    if (analysed !== 1) return 0;
    const handle = args[0];
    const windowSamples = typeof handle === "object" && handle !== null ? windowSamplesOf.get(handle) ?? 2048 : 2048;
    return NATIVE_ANALYSE_DEVICE_MS_AT_2048 * windowScale(windowSamples);
  },
});
