// The TypeScript reference of the DSP core: the same int16 window ring and features as the native
// C core, computed in float64 by axis-features.ts and fft.ts. The C core is tested against it;
// `vibewatch replay --reference` runs it. It is ~50× the native core's cost on the device.
import { AxisFeatures, type AxisStats } from "./axis-features.js";
import { AXES, AXIS_STRIDE, FEATURE, MAX_CORE_BANDS, type DspCore, type DspCoreConfig } from "./dsp-core.js";

export class ReferenceDspCore implements DspCore {
  readonly kind = "reference" as const;
  #axes: AxisFeatures | undefined;
  // three fields, not an array destructured per call: XS allocates an iterator for that
  #x = new Int16Array(0);
  #y = new Int16Array(0);
  #z = new Int16Array(0);
  #n = 0;
  #hop = 1;
  #countMS2 = 1;
  #head = 0;
  #filled = 0;
  #sinceWindow = 0;
  #ready = false;
  #bands: Float32Array[] = [];

  get bufferBytes(): number {
    return this.#x.byteLength * AXES + (this.#axes?.bufferBytes ?? 0);
  }

  configure(config: DspCoreConfig): number {
    const n = config.windowSamples;
    if (config.bandEdgesHz.length > MAX_CORE_BANDS + 1) throw new RangeError(`dsp: at most ${MAX_CORE_BANDS + 1} band edges, got ${config.bandEdgesHz.length}`);
    if (this.#axes) this.#axes.configure(n, config.sampleRateHz, config.bandHz, config.bandEdgesHz);
    else this.#axes = new AxisFeatures(n, config.sampleRateHz, config.bandHz, config.bandEdgesHz);
    if (this.#n !== n) {
      this.#x = new Int16Array(n);
      this.#y = new Int16Array(n);
      this.#z = new Int16Array(n);
    }
    this.#n = n;
    this.#hop = config.hopSamples;
    this.#countMS2 = config.countMS2;
    this.#bands = [0, 1, 2].map(() => new Float32Array(Math.max(0, config.bandEdgesHz.length - 1)));
    this.reset();
    return this.bufferBytes;
  }

  reset(): void {
    this.#head = 0;
    this.#filled = 0;
    this.#sinceWindow = 0;
    this.#ready = false;
  }

  push(block: Int16Array, offset: number, count: number): number {
    if (this.#ready) return 0;
    const x = this.#x, y = this.#y, z = this.#z;
    const n = this.#n;
    let taken = 0;
    let index = offset * AXES;
    while (taken < count) {
      const head = this.#head;
      x[head] = block[index]!;
      y[head] = block[index + 1]!;
      z[head] = block[index + 2]!;
      index += AXES;
      this.#head = head + 1 === n ? 0 : head + 1;
      taken++;
      if (this.#filled < n) {
        if (++this.#filled < n) continue;
      } else if (++this.#sinceWindow < this.#hop) {
        continue;
      }
      this.#sinceWindow = 0;
      this.#ready = true;
      break;
    }
    return taken;
  }

  analyse(out: Float32Array): boolean {
    if (!this.#ready) return false;
    const axes = this.#axes!;
    const x = this.#x, y = this.#y, z = this.#z;
    const bands = this.#bands;
    // x and y share one FFT, z has its own (as in the C core)
    axes.analyse(x, y, this.#head, this.#countMS2, bands[0]!, bands[1]!);
    copyStats(axes.stats, 0, bands[0]!, out, 0);
    copyStats(axes.stats, 1, bands[1]!, out, 1);
    axes.analyse(z, null, this.#head, this.#countMS2, bands[2]!, null);
    copyStats(axes.stats, 0, bands[2]!, out, 2);
    this.#ready = false;
    return true;
  }
}

function copyStats(stats: AxisStats, slot: number, bands: Float32Array, out: Float32Array, axis: number): void {
  const base = axis * AXIS_STRIDE;
  out[base + FEATURE.meanMS2] = stats.mean[slot]!;
  out[base + FEATURE.rmsMS2] = stats.rms[slot]!;
  out[base + FEATURE.peakMS2] = stats.peak[slot]!;
  out[base + FEATURE.maxAbsMS2] = stats.maxAbs[slot]!;
  out[base + FEATURE.kurtosis] = stats.kurtosis[slot]!;
  out[base + FEATURE.velocityRmsMmS] = stats.velocityRmsMmS[slot]!;
  for (let b = 0; b < MAX_CORE_BANDS; b++) out[base + FEATURE.bands + b] = b < bands.length ? bands[b]! : 0;
}
