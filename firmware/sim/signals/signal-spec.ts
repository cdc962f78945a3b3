// Builds a SignalSource from plain data (what the host sends over the bridge).
import { BlockSource } from "./block-source.js";
import type { SignalSource } from "./signal-source.js";
import { syntheticMachine, type SyntheticMachineOptions } from "./synthetic-machine.js";

/** [frequency Hz, amplitude (peak) m/s², phase rad?] */
export type Tone = [number, number, number?];

export type SignalSpec =
  | { kind: "constant"; valuesMS2: [number, number, number] }
  | { kind: "tones"; axes: [Tone[], Tone[], Tone[]]; offsetMS2?: [number, number, number] }
  | ({ kind: "machine" } & SyntheticMachineOptions)
  | { kind: "block"; capacity: number };

export function tonesSource(axes: [Tone[], Tone[], Tone[]], offsetMS2: [number, number, number] = [0, 0, 0]): SignalSource {
  return {
    sample(timeS: number, out: Float64Array): void {
      for (let a = 0; a < 3; a++) {
        let value = offsetMS2[a]!;
        for (const [hz, amplitude, phase] of axes[a]!) value += amplitude * Math.sin(2 * Math.PI * hz * timeS + (phase ?? 0));
        out[a] = value;
      }
    },
  };
}

export function signalFromSpec(spec: SignalSpec): SignalSource {
  switch (spec.kind) {
    case "constant": {
      const [x, y, z] = spec.valuesMS2;
      return { sample: (_t: number, out: Float64Array) => { out[0] = x; out[1] = y; out[2] = z; } };
    }
    case "tones":
      return tonesSource(spec.axes, spec.offsetMS2);
    case "machine":
      return syntheticMachine(spec);
    case "block":
      return new BlockSource(spec.capacity);
    default:
      throw new RangeError(`unknown signal kind ${String((spec as { kind: unknown }).kind)}`);
  }
}
