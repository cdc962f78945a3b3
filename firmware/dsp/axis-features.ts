// Features of one or two axes over one window, computed from the analyzer's ring buffers without
// allocating: time domain (mean, RMS with the mean removed, peak, kurtosis) and, through one FFT of
// the Hann-windowed, mean-removed window, the velocity RMS in a band and acceleration RMS per band.
//
// Two real axes share one complex FFT (a in the real part, b in the imaginary part) and are
// separated afterwards: A[k] = (Z[k] + conj Z[N−k]) / 2, B[k] = (Z[k] − conj Z[N−k]) / 2j.
// A lone real axis runs through a half-size complex FFT (even samples real, odd imaginary) and a
// split step. Three axes cost one N-point and one N/2-point FFT.
//
// Velocity by integration in the frequency domain: V(f) = A(f) / (j2πf), summed over the bins
// inside [lowHz, highHz] only (Parseval), so components below the band (a 3 Hz sway, DC, gravity)
// cannot leak into it beyond the Hann window's side lobes. One-sided power with the window's energy
// correction: rms² = 2 Σ|X[k]|² / (N · Σw²).
import { Fft } from "./fft.js";

/** samples of one axis: m/s² as float32, or sensor counts as int16 (× a scale) to halve the memory */
export type SampleRing = Float32Array | Int16Array;

/** per-axis results of the last analyse(), index 0 for the first axis, 1 for the second */
export interface AxisStats {
  mean: Float64Array;
  rms: Float64Array;
  peak: Float64Array;
  /** largest |raw sample| (mean not removed): for clipping detection */
  maxAbs: Float64Array;
  kurtosis: Float64Array;
  velocityRmsMmS: Float64Array;
}

export class AxisFeatures {
  readonly #fft: Fft;
  #re = new Float32Array(0);
  #im = new Float32Array(0);
  #n = 0;
  #windowEnergy = 1;
  #lowBin = 1;
  #highBin = 1;
  #bandStartBin = new Uint16Array(0);
  /** 1 / (2πf_k)² for the velocity band's bins, from #lowBin */
  #inverseOmegaSquared = new Float32Array(0);
  readonly stats: AxisStats = {
    mean: new Float64Array(2), rms: new Float64Array(2), peak: new Float64Array(2), maxAbs: new Float64Array(2),
    kurtosis: new Float64Array(2), velocityRmsMmS: new Float64Array(2),
  };

  constructor(windowSamples: number, sampleRateHz: number, bandHz: readonly number[], bandEdgesHz: readonly number[]) {
    this.#fft = new Fft(windowSamples);
    this.configure(windowSamples, sampleRateHz, bandHz, bandEdgesHz);
  }

  /** bytes of the typed arrays this object holds */
  get bufferBytes(): number {
    return this.#re.byteLength + this.#im.byteLength + this.#bandStartBin.byteLength + this.#inverseOmegaSquared.byteLength + this.#fft.tableBytes;
  }

  configure(windowSamples: number, sampleRateHz: number, bandHz: readonly number[], bandEdgesHz: readonly number[]): void {
    this.#fft.resize(windowSamples);
    if (this.#n !== windowSamples) {
      this.#re = new Float32Array(windowSamples);
      this.#im = new Float32Array(windowSamples);
    }
    this.#n = windowSamples;
    let energy = 0;
    for (let i = 0; i < windowSamples; i++) energy += this.#fft.hann(i) ** 2;
    this.#windowEnergy = energy;
    const binHz = sampleRateHz / windowSamples;
    const nyquistBin = (windowSamples >> 1) - 1;
    this.#lowBin = Math.max(1, Math.ceil(bandHz[0]! / binHz));
    this.#highBin = Math.min(nyquistBin, Math.floor(bandHz[1]! / binHz));
    this.#inverseOmegaSquared = new Float32Array(Math.max(0, this.#highBin - this.#lowBin + 1));
    for (let k = this.#lowBin; k <= this.#highBin; k++) this.#inverseOmegaSquared[k - this.#lowBin] = 1 / (2 * Math.PI * k * binHz) ** 2;
    this.#bandStartBin = new Uint16Array(bandEdgesHz.length);
    for (let b = 0; b < bandEdgesHz.length; b++) {
      this.#bandStartBin[b] = Math.min(nyquistBin + 1, Math.max(1, Math.ceil(bandEdgesHz[b]! / binHz)));
    }
  }

  /**
   * Analyses the window held in ringA (and ringB, when given; both of length N, oldest sample at
   * `head`, values × ringScale in m/s²). Fills stats[0] (and stats[1]) and the band acceleration RMS (m/s²) of each axis into
   * bandsA / bandsB (one value per band).
   */
  analyse(ringA: SampleRing, ringB: SampleRing | null, head: number, ringScale: number, bandsA: Float32Array, bandsB: Float32Array | null): void {
    const n = this.#n;
    const re = this.#re;
    const im = this.#im;
    this.#timeDomain(ringA, head, ringScale, re, 0);
    if (ringB) {
      this.#timeDomain(ringB, head, ringScale, im, 1);
      this.#fft.transform(re, im, n);
      this.#pairPowers();
    } else {
      // one real axis: pack even samples as real, odd as imaginary parts, half-size FFT, then split
      const m = n >> 1;
      for (let i = 0; i < m; i++) {
        im[i] = re[2 * i + 1]!;
        re[i] = re[2 * i]!;
      }
      this.#fft.transform(re, im, m);
      this.#realPowers();
    }
    // re[k] (and im[k] for the second axis) now hold 4·|X[k]|² for k = 1 … N/2 − 1
    const scale = 0.25 * (2 / (n * this.#windowEnergy));
    const low = this.#lowBin;
    const high = this.#highBin;
    const inverseOmegaSquared = this.#inverseOmegaSquared;
    let sumA = 0;
    let sumB = 0;
    for (let k = low; k <= high; k++) {
      const w = inverseOmegaSquared[k - low]!;
      sumA += re[k]! * w;
      sumB += im[k]! * w;
    }
    this.stats.velocityRmsMmS[0] = Math.sqrt(sumA * scale) * 1000;
    this.stats.velocityRmsMmS[1] = ringB ? Math.sqrt(sumB * scale) * 1000 : 0;

    const starts = this.#bandStartBin;
    for (let b = 0; b + 1 < starts.length; b++) {
      let bandA = 0;
      let bandB = 0;
      const end = starts[b + 1]!;
      for (let k = starts[b]!; k < end; k++) {
        bandA += re[k]!;
        bandB += im[k]!;
      }
      bandsA[b] = Math.sqrt(bandA * scale);
      if (bandsB) bandsB[b] = Math.sqrt(bandB * scale);
    }
  }

  /**
   * Separates the spectra of two real signals sent through one complex FFT (a + jb):
   * 2A[k] = Z[k] + conj Z[N−k], 2B[k] = (Z[k] − conj Z[N−k]) / j. Leaves 4|A[k]|² in re[k] and
   * 4|B[k]|² in im[k] for k = 1 … N/2 − 1 (the upper half, still needed, is only read).
   */
  #pairPowers(): void {
    const n = this.#n;
    const re = this.#re;
    const im = this.#im;
    for (let k = 1; k < n >> 1; k++) {
      const rk = re[k]!, ik = im[k]!, rm = re[n - k]!, imm = im[n - k]!;
      const ar = rk + rm, ai = ik - imm, br = ik + imm, bi = rk - rm;
      re[k] = ar * ar + ai * ai;
      im[k] = br * br + bi * bi;
    }
  }

  /**
   * Spectrum of a real N-point signal from the N/2-point FFT F of its packed samples:
   * 2X[k] = (F[k] + conj F[M−k]) − j·W^k·(F[k] − conj F[M−k]), W = e^(−j2π/N), M = N/2.
   * Bins k and M−k use the same four values, so they are done together, in place.
   * Leaves 4|X[k]|² in re[k] for k = 1 … M − 1 and zeroes im[] there.
   */
  #realPowers(): void {
    const m = this.#n >> 1;
    const re = this.#re;
    const im = this.#im;
    const cos = this.#fft.cosTable;
    const sin = this.#fft.sinTable;
    for (let k = 1; k <= m >> 1; k++) {
      const j = m - k;
      const rk = re[k]!, ik = im[k]!, rj = re[j]!, ij = im[j]!;
      const sr = rk + rj, si = ik + ij, dr = rk - rj, di = ik - ij;
      const ck = cos[k]!, sk = sin[k]!, cj = cos[j]!, sj = sin[j]!;
      const zr = sr + ck * si - sk * dr;
      const zi = di - ck * dr - sk * si;
      const yr = sr + cj * si + sj * dr;
      const yi = -di + cj * dr - sj * si;
      re[k] = zr * zr + zi * zi;
      re[j] = yr * yr + yi * yi;
      im[k] = 0;
      im[j] = 0;
    }
  }

  /** mean, RMS, peak, kurtosis of one ring into stats[slot]; the windowed, mean-removed samples into out */
  #timeDomain(ring: SampleRing, head: number, ringScale: number, out: Float32Array, slot: number): void {
    const n = this.#n;
    // the sum of the raw counts is exact, so a flat window leaves d = 0 exactly (not a rounding residue)
    let sum = 0;
    let maxAbs = 0;
    for (let i = 0; i < n; i++) {
      const v = ring[i]!;
      sum += v;
      if (v > maxAbs) maxAbs = v;
      else if (-v > maxAbs) maxAbs = -v;
    }
    maxAbs *= ringScale;
    const mean = (sum / n) * ringScale;
    let m2 = 0;
    let m4 = 0;
    let peak = 0;
    // periodic Hann from the FFT's cosine table: w[i] = 0.5 − 0.5·cos(2πi/N), cos(2π(N−i)/N) = cos(2πi/N)
    const cos = this.#fft.cosTable;
    const half = n >> 1;
    let index = head;
    for (let i = 0; i < n; i++) {
      const d = ring[index]! * ringScale - mean;
      if (++index === n) index = 0;
      const d2 = d * d;
      m2 += d2;
      m4 += d2 * d2;
      if (d > peak) peak = d;
      else if (-d > peak) peak = -d;
      const c = i < half ? cos[i]! : i === half ? -1 : cos[n - i]!;
      out[i] = d * (0.5 - 0.5 * c);
    }
    const stats = this.stats;
    stats.mean[slot] = mean;
    stats.maxAbs[slot] = maxAbs;
    stats.rms[slot] = Math.sqrt(m2 / n);
    stats.peak[slot] = peak;
    // kurtosis (not excess): n·Σd⁴ / (Σd²)²; sine 1.5, Gaussian 3; 0 for a flat window
    stats.kurtosis[slot] = m2 > 0 ? (n * m4) / (m2 * m2) : 0;
  }
}
