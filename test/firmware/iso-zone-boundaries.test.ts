// ISO 10816-3 zones must be exact at the boundaries: a boundary value belongs to the lower zone,
// the next representable value above it to the upper one, for every machine class.
import { describe, expect, it } from "vitest";
import { ISO_ZONE_LIMITS_MM_S, isoZone } from "../../firmware/dsp/iso-zones.js";
import { MACHINE_CLASSES, type MachineClass } from "../../protocol/messages.js";

const nextUp = (x: number) => {
  const buffer = new DataView(new ArrayBuffer(8));
  buffer.setFloat64(0, x);
  buffer.setBigUint64(0, buffer.getBigUint64(0) + 1n);
  return buffer.getFloat64(0);
};

const expectedLimits: Record<MachineClass, [number, number, number]> = {
  "1r": [2.3, 4.5, 7.1],
  "1f": [3.5, 7.1, 11.0],
  "2r": [1.4, 2.8, 4.5],
  "2f": [2.3, 4.5, 7.1],
};

describe("ISO 10816-3 zone boundaries", () => {
  it("uses the standard's boundary values for each machine group and foundation", () => {
    expect(ISO_ZONE_LIMITS_MM_S).toEqual(expectedLimits);
  });

  it.each(MACHINE_CLASSES)("class %s: each boundary is the upper limit of the lower zone", (machineClass) => {
    const [ab, bc, cd] = expectedLimits[machineClass];
    expect(isoZone(0, machineClass)).toBe(0);
    expect(isoZone(ab, machineClass)).toBe(0);
    expect(isoZone(nextUp(ab), machineClass)).toBe(1);
    expect(isoZone(bc, machineClass)).toBe(1);
    expect(isoZone(nextUp(bc), machineClass)).toBe(2);
    expect(isoZone(cd, machineClass)).toBe(2);
    expect(isoZone(nextUp(cd), machineClass)).toBe(3);
    expect(isoZone(1000, machineClass)).toBe(3);
  });

  it("defaults to group 2 rigid and treats NaN (no data) as zone A", () => {
    expect(isoZone(1.41)).toBe(1);
    expect(isoZone(Number.NaN)).toBe(0);
  });
});
