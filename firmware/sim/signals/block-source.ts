// A signal source the host feeds with recorded samples (e.g. rows of a CSV), in blocks.
// Each sensor tick takes the next recorded sample, whatever the time: the recording is taken to be
// at the sensor's rate. When the recording runs dry the source holds the last sample and counts
// the underrun (a flat signal, so a starved replay is visible, not silently looped).
import type { SignalSource } from "./signal-source.js";

export class BlockSource implements SignalSource {
  readonly #samples: Float64Array;
  #readIndex = 0;
  #writeIndex = 0;
  #last = new Float64Array(3);
  underruns = 0;

  /** capacity in samples (x, y, z each) */
  constructor(capacity: number) {
    this.#samples = new Float64Array(capacity * 3);
  }

  /** samples waiting */
  get available(): number {
    return (this.#writeIndex - this.#readIndex) / 3;
  }

  /** appends interleaved x,y,z values; returns how many samples fitted (the rest: feed again later) */
  feed(interleaved: ArrayLike<number>): number {
    if (this.#readIndex > 0 && this.#readIndex === this.#writeIndex) {
      this.#readIndex = 0;
      this.#writeIndex = 0;
    }
    if (this.#readIndex > 0 && this.#writeIndex + interleaved.length > this.#samples.length) {
      this.#samples.copyWithin(0, this.#readIndex, this.#writeIndex);
      this.#writeIndex -= this.#readIndex;
      this.#readIndex = 0;
    }
    const room = Math.floor((this.#samples.length - this.#writeIndex) / 3);
    const count = Math.min(room, Math.floor(interleaved.length / 3));
    for (let i = 0; i < count * 3; i++) this.#samples[this.#writeIndex + i] = interleaved[i]!;
    this.#writeIndex += count * 3;
    return count;
  }

  sample(_timeS: number, out: Float64Array): void {
    if (this.#readIndex < this.#writeIndex) {
      for (let a = 0; a < 3; a++) this.#last[a] = this.#samples[this.#readIndex + a]!;
      this.#readIndex += 3;
    } else {
      this.underruns++;
    }
    out[0] = this.#last[0]!;
    out[1] = this.#last[1]!;
    out[2] = this.#last[2]!;
  }
}
