// In-place radix-2 complex FFT over preallocated Float32Arrays. The twiddle table is built once
// per size (in the constructor or resize), never in the transform, so a transform allocates nothing.
// The cosine table doubles as the Hann window (w[i] = 0.5 - 0.5·cos(2πi/N)), saving one N-sized table.

export class Fft {
  #size = 0;
  #cos = new Float32Array(0);
  #sin = new Float32Array(0);

  constructor(size: number) {
    this.resize(size);
  }

  get size(): number {
    return this.#size;
  }

  /** bytes held by the tables (for the memory budget) */
  get tableBytes(): number {
    return this.#cos.byteLength + this.#sin.byteLength;
  }

  resize(size: number): void {
    if (!isPowerOfTwo(size) || size < 8) throw new RangeError(`FFT size must be a power of two >= 8, got ${size}`);
    if (size === this.#size) return;
    this.#size = size;
    const half = size >> 1;
    this.#cos = new Float32Array(half);
    this.#sin = new Float32Array(half);
    for (let k = 0; k < half; k++) {
      const angle = (2 * Math.PI * k) / size;
      this.#cos[k] = Math.cos(angle);
      this.#sin[k] = Math.sin(angle);
    }
  }

  /** periodic Hann window coefficient at index i (0 <= i < size), from the cosine table */
  hann(i: number): number {
    const half = this.#size >> 1;
    const c = i < half ? this.#cos[i]! : i === half ? -1 : this.#cos[this.#size - i]!;
    return 0.5 - 0.5 * c;
  }

  /**
   * forward transform of (re, im) in place over the first n values (n: a power of two <= size,
   * default size; a smaller n reuses the table with a stride)
   */
  transform(re: Float32Array, im: Float32Array, n: number = this.#size): void {
    const stride = this.#size / n;
    const cos = this.#cos;
    const sin = this.#sin;
    // bit-reversal permutation, computed incrementally (no table)
    for (let i = 1, j = 0; i < n; i++) {
      let bit = n >> 1;
      for (; j & bit; bit >>= 1) j ^= bit;
      j ^= bit;
      if (i < j) {
        const tr = re[i]!;
        re[i] = re[j]!;
        re[j] = tr;
        const ti = im[i]!;
        im[i] = im[j]!;
        im[j] = ti;
      }
    }
    // first stage (len 2): the twiddle is 1, no multiplications
    for (let a = 0; a < n; a += 2) {
      const b = a + 1;
      const br = re[b]!;
      const bi = im[b]!;
      const ar = re[a]!;
      const ai = im[a]!;
      re[b] = ar - br;
      im[b] = ai - bi;
      re[a] = ar + br;
      im[a] = ai + bi;
    }
    // later stages: twiddle-outer loop order loads each twiddle once per stage (XS is an
    // interpreter: every typed-array read counts)
    for (let len = 4; len <= n; len <<= 1) {
      const halfLen = len >> 1;
      const step = (n / len) * stride;
      for (let k = 0; k < halfLen; k++) {
        const wr = cos[k * step]!;
        const wi = -sin[k * step]!;
        for (let a = k; a < n; a += len) {
          const b = a + halfLen;
          const br = re[b]!;
          const bi = im[b]!;
          const xr = br * wr - bi * wi;
          const xi = br * wi + bi * wr;
          const ar = re[a]!;
          const ai = im[a]!;
          re[b] = ar - xr;
          im[b] = ai - xi;
          re[a] = ar + xr;
          im[a] = ai + xi;
        }
      }
    }
  }

  /** the cosine table, cos(2πk/N) for k < N/2 (read-only use: the Hann window, real-FFT split) */
  get cosTable(): Float32Array {
    return this.#cos;
  }

  /** the sine table, sin(2πk/N) for k < N/2 (read-only use) */
  get sinTable(): Float32Array {
    return this.#sin;
  }
}

export function isPowerOfTwo(value: number): boolean {
  return Number.isInteger(value) && value > 0 && (value & (value - 1)) === 0;
}
