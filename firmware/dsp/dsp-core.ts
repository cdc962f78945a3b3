// The seam between the analyzer and the per-window numeric work: a window ring of int16 counts and
// the features of each completed window. Two implementations: the native C core (native-core.ts,
// what the device runs) and the TypeScript reference (reference-core.ts, what the C is tested
// against). Both take the same int16 input and fill the same flat feature layout.

/** per-axis feature offsets in the features array (mirror of the enum in native/dsp-core.h) */
export const FEATURE = Object.freeze({ meanMS2: 0, rmsMS2: 1, peakMS2: 2, maxAbsMS2: 3, kurtosis: 4, velocityRmsMmS: 5, bands: 6 });
export const MAX_CORE_BANDS = 8;
/** floats per axis in the features array */
export const AXIS_STRIDE = FEATURE.bands + MAX_CORE_BANDS;
export const AXES = 3;

export type DspCoreKind = "native" | "reference";

export interface DspCoreConfig {
  windowSamples: number;
  hopSamples: number;
  sampleRateHz: number;
  /** m/s² per count of the int16 input */
  countMS2: number;
  /** velocity band, Hz (the high edge already capped at the usable bandwidth) */
  bandHz: readonly [number, number];
  /** band edges, Hz, ascending, at most MAX_CORE_BANDS + 1 */
  bandEdgesHz: readonly number[];
}

export interface DspCore {
  readonly kind: DspCoreKind;
  /** (re)allocates for the configuration and drops the partial window; returns the bytes it holds */
  configure(config: DspCoreConfig): number;
  /** bytes the core holds (window ring, FFT buffers, tables) */
  readonly bufferBytes: number;
  /** drops the partial window (after a FIFO overrun) */
  reset(): void;
  /**
   * copies up to `count` interleaved x, y, z samples from `block`, starting at sample `offset`;
   * returns how many it took: it stops after the sample that completes a window, which must then
   * be analysed before more can be pushed
   */
  push(block: Int16Array, offset: number, count: number): number;
  /** features of the completed window into `out` (AXES × AXIS_STRIDE); false when none is ready */
  analyse(out: Float32Array): boolean;
}

export function newFeatures(): Float32Array {
  return new Float32Array(AXES * AXIS_STRIDE);
}
