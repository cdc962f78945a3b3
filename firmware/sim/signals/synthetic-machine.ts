// A synthetic rotating machine, the signal a simulated accelerometer on its bearing housing sees:
// - imbalance: 1× running speed, radial (x and y in quadrature);
// - misalignment: 2× running speed, strongest axially (z), some radial;
// - a bearing defect tone, amplitude-modulated at running speed (the classic sideband pattern);
// - Gaussian noise on every axis (seeded: the same seed gives the same signal);
// - a fault that grows: the bearing tone and misalignment scale by (1 + faultGrowthPerHour · hours);
// - gravity on z (the sensor is mounted flat), which the DSP must remove.
import { SeededRandom, type SignalSource } from "./signal-source.js";

export interface SyntheticMachineOptions {
  runningSpeedHz: number;
  /** amplitude (peak) of the 1× component, m/s² */
  imbalanceMS2: number;
  /** amplitude (peak) of the 2× component, m/s² */
  misalignmentMS2: number;
  bearingToneHz: number;
  /** amplitude (peak) of the bearing tone, m/s² */
  bearingMS2: number;
  /** standard deviation of the noise, m/s² */
  noiseMS2: number;
  /** relative growth of the fault components per hour of machine time (0: steady) */
  faultGrowthPerHour: number;
  seed: number;
  /** static acceleration on z, m/s² (default 1 g) */
  gravityMS2?: number;
}

export function syntheticMachine(options: SyntheticMachineOptions): SignalSource {
  const o = { gravityMS2: 9.80665, ...options };
  const random = new SeededRandom(o.seed);
  const twoPi = 2 * Math.PI;
  return {
    sample(timeS: number, out: Float64Array): void {
      const growth = 1 + o.faultGrowthPerHour * (timeS / 3600);
      const phase1 = twoPi * o.runningSpeedHz * timeS;
      const imbalanceX = o.imbalanceMS2 * Math.sin(phase1);
      const imbalanceY = o.imbalanceMS2 * Math.cos(phase1);
      const misalignment = o.misalignmentMS2 * growth * Math.sin(2 * phase1 + 0.7);
      const bearing = o.bearingMS2 * growth * (1 + 0.5 * Math.sin(phase1)) * Math.sin(twoPi * o.bearingToneHz * timeS);
      out[0] = imbalanceX + 0.3 * misalignment + bearing + o.noiseMS2 * random.gaussian();
      out[1] = imbalanceY + 0.3 * misalignment + 0.5 * bearing + o.noiseMS2 * random.gaussian();
      out[2] = o.gravityMS2 + misalignment + 0.3 * bearing + o.noiseMS2 * random.gaussian();
    },
  };
}
