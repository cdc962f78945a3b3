// ISO 10816-3 evaluation zones from broadband velocity RMS (10–1000 Hz, mm/s).
// Table A.1 of the standard: zone boundary values A/B, B/C, C/D for each machine group and
// foundation. A boundary is the upper limit of the lower zone, inclusive: a velocity exactly at
// 1.4 mm/s (group 2 rigid) is still zone A; anything above it is B.
import type { MachineClass, ZoneIndex } from "../../protocol/messages.js";

/** zone boundaries [A/B, B/C, C/D] in mm/s, per machine class (group 1|2, rigid|flexible) */
export const ISO_ZONE_LIMITS_MM_S: Readonly<Record<MachineClass, readonly [number, number, number]>> = Object.freeze({
  "1r": Object.freeze([2.3, 4.5, 7.1] as const),
  "1f": Object.freeze([3.5, 7.1, 11.0] as const),
  "2r": Object.freeze([1.4, 2.8, 4.5] as const),
  "2f": Object.freeze([2.3, 4.5, 7.1] as const),
});

export const DEFAULT_MACHINE_CLASS: MachineClass = "2r";

/** zone 0..3 (A..D) for a velocity RMS in mm/s; NaN (no data) counts as zone A */
export function isoZone(velocityRmsMmS: number, machineClass: MachineClass = DEFAULT_MACHINE_CLASS): ZoneIndex {
  const limits = ISO_ZONE_LIMITS_MM_S[machineClass];
  if (!(velocityRmsMmS > limits[0])) return 0;
  if (velocityRmsMmS <= limits[1]) return 1;
  if (velocityRmsMmS <= limits[2]) return 2;
  return 3;
}
