// The simulator's signal sources: the synthetic machine is deterministic per seed, its fault grows
// as configured; the block source hands out fed samples in order and counts underruns instead of
// looping or inventing data.
import { describe, expect, it } from "vitest";
import { syntheticMachine } from "../../firmware/sim/signals/synthetic-machine.js";
import { BlockSource } from "../../firmware/sim/signals/block-source.js";

const machine = {
  runningSpeedHz: 24.5, imbalanceMS2: 1, misalignmentMS2: 0.5, bearingToneHz: 157, bearingMS2: 0.3, noiseMS2: 0.1, faultGrowthPerHour: 0, seed: 7,
};

function samples(source: ReturnType<typeof syntheticMachine>, count: number, rateHz = 3200, startS = 0): number[] {
  const out = new Float64Array(3);
  const values: number[] = [];
  for (let i = 0; i < count; i++) {
    source.sample(startS + i / rateHz, out);
    values.push(...out);
  }
  return values;
}

describe("signal sources", () => {
  it("the synthetic machine gives the same samples for the same seed, different ones for another seed", () => {
    expect(samples(syntheticMachine(machine), 500)).toEqual(samples(syntheticMachine(machine), 500));
    expect(samples(syntheticMachine({ ...machine, seed: 8 }), 500)).not.toEqual(samples(syntheticMachine(machine), 500));
  });

  it("carries gravity on z and a fault that grows with machine time", () => {
    const quiet = { ...machine, noiseMS2: 0, imbalanceMS2: 0 };
    const rms = (values: number[], axis: number) => {
      const axisValues = values.filter((_, i) => i % 3 === axis);
      const mean = axisValues.reduce((a, b) => a + b, 0) / axisValues.length;
      return { mean, rms: Math.sqrt(axisValues.reduce((a, b) => a + (b - mean) ** 2, 0) / axisValues.length) };
    };
    const steady = rms(samples(syntheticMachine({ ...quiet, faultGrowthPerHour: 1 }), 3200), 2);
    expect(steady.mean).toBeCloseTo(9.80665, 1);
    const anHourLater = rms(samples(syntheticMachine({ ...quiet, faultGrowthPerHour: 1 }), 3200, 3200, 3600), 2);
    expect(anHourLater.rms / steady.rms).toBeCloseTo(2, 1);
  });

  it("the block source yields fed samples in order, then holds the last one and counts underruns", () => {
    const source = new BlockSource(4);
    expect(source.feed([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15])).toBe(4);
    const out = new Float64Array(3);
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) {
      source.sample(0, out);
      seen.push(out[0]!);
    }
    expect(seen).toEqual([1, 4, 7, 10, 10]);
    expect(source.underruns).toBe(1);
    expect(source.feed([13, 14, 15])).toBe(1);
    source.sample(0, out);
    expect(Array.from(out)).toEqual([13, 14, 15]);
  });
});
