// What a window's analysis costs on the ESP32, as the simulator charges it to virtual time: the
// sampler's poll then takes as long as it would on the device, and the FIFO models fill meanwhile.
// The figures are bench:firmware's estimates (x86 instructions per 2048-sample window from
// valgrind --tool=callgrind over the XS worker, scaled by ESP-DSP's published cycles for its
// plain-C radix-2 float FFT against our C FFT's instructions at the same size; 240 MHz), measured
// in the session of 2026-12-03: see firmware/README.md, "Device cost". Other window lengths scale
// as N·log2 N (the FFTs dominate both paths).
import type { DspCoreKind } from "../dsp/dsp-core.js";

/** estimated ESP32 ms for one 2048-sample, 3-axis window, analysis and policy included */
export const ANALYSIS_DEVICE_MS_AT_2048: Readonly<Record<DspCoreKind, number>> = Object.freeze({
  native: 4,
  reference: 1200,
});

export function analysisDeviceMs(kind: DspCoreKind, windowSamples: number): number {
  const scale = (windowSamples * Math.log2(windowSamples)) / (2048 * 11);
  return ANALYSIS_DEVICE_MS_AT_2048[kind] * scale;
}
