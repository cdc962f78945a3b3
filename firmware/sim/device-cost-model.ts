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
  // 1,500,298 instructions per window × 0.865 cycles per instruction / 240 MHz: the whole window's
  // cost (its 64 block pushes included, which really spread over the polls), charged to the one
  // poll that completes it: conservative
  native: 5.41,
  // 155,660,877 instructions per window, the same scaling: a floor (XS doubles are software on the
  // ESP32); the issue's own estimate was ~1,200 ms
  reference: 561,
});

export function analysisDeviceMs(kind: DspCoreKind, windowSamples: number): number {
  const scale = (windowSamples * Math.log2(windowSamples)) / (2048 * 11);
  return ANALYSIS_DEVICE_MS_AT_2048[kind] * scale;
}
