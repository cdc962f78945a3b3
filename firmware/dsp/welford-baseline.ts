// Anomaly baseline: per-feature mean and spread learned online (Welford's algorithm, numerically
// stable, O(1) memory per feature), then a standardised distance of each new feature vector.
// The baseline is plain data ({ mean, sd, n }) so the device can persist it and the cloud can push one.

export interface Baseline {
  mean: number[];
  sd: number[];
  /** windows the baseline was learned from */
  n: number;
}

/** The spread never counts as smaller than this fraction of |mean| (a perfectly steady synthetic
 * signal would otherwise make every tiny change an "anomaly"), nor smaller than ABSOLUTE_SD_FLOOR. */
export const RELATIVE_SD_FLOOR = 0.05;
export const ABSOLUTE_SD_FLOOR = 1e-3;

export class WelfordBaseline {
  readonly featureCount: number;
  readonly #mean: Float64Array;
  readonly #m2: Float64Array;
  readonly #sd: Float64Array;
  #n = 0;

  constructor(featureCount: number) {
    this.featureCount = featureCount;
    this.#mean = new Float64Array(featureCount);
    this.#m2 = new Float64Array(featureCount);
    this.#sd = new Float64Array(featureCount);
  }

  get count(): number {
    return this.#n;
  }

  reset(): void {
    this.#n = 0;
    this.#mean.fill(0);
    this.#m2.fill(0);
    this.#sd.fill(0);
  }

  /** adds one feature vector (learning); no allocation */
  learn(features: Float64Array): void {
    const n = ++this.#n;
    for (let i = 0; i < this.featureCount; i++) {
      const x = features[i]!;
      const delta = x - this.#mean[i]!;
      this.#mean[i] = this.#mean[i]! + delta / n;
      this.#m2[i] = this.#m2[i]! + delta * (x - this.#mean[i]!);
      this.#sd[i] = n > 1 ? Math.sqrt(this.#m2[i]! / (n - 1)) : 0;
    }
  }

  /** standardised distance: RMS over features of (x - mean) / sd, so the scale does not grow with the feature count */
  score(features: Float64Array): number {
    let sum = 0;
    for (let i = 0; i < this.featureCount; i++) {
      const mean = this.#mean[i]!;
      const floor = Math.max(Math.abs(mean) * RELATIVE_SD_FLOOR, ABSOLUTE_SD_FLOOR);
      const sd = Math.max(this.#sd[i]!, floor);
      const z = (features[i]! - mean) / sd;
      sum += z * z;
    }
    return Math.sqrt(sum / this.featureCount);
  }

  /** replaces the learned state with a pushed or persisted baseline; throws RangeError on a wrong shape */
  load(baseline: Baseline): void {
    if (baseline.mean.length !== this.featureCount || baseline.sd.length !== this.featureCount) {
      throw new RangeError(`baseline needs ${this.featureCount} means and sds, got ${baseline.mean.length} and ${baseline.sd.length}`);
    }
    for (let i = 0; i < this.featureCount; i++) {
      const mean = baseline.mean[i]!;
      const sd = baseline.sd[i]!;
      if (!Number.isFinite(mean) || !Number.isFinite(sd) || sd < 0) throw new RangeError(`baseline feature ${i}: mean ${mean}, sd ${sd} is not usable`);
      this.#mean[i] = mean;
      this.#sd[i] = sd;
      this.#m2[i] = sd * sd * Math.max(baseline.n - 1, 0);
    }
    this.#n = Math.max(0, Math.floor(baseline.n));
  }

  /** plain data copy (allocates: called on request, not per window) */
  toPlain(): Baseline {
    return { mean: Array.from(this.#mean), sd: Array.from(this.#sd), n: this.#n };
  }
}
