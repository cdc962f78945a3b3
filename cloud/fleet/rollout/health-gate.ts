// The health gate: does the wave just updated behave worse than the control cohort (devices not
// updated) over the same soak? Judged on what the devices report, per device and soak, so a
// site-wide event (a broker outage rebooting everyone, a machine line speeding up) moves both
// cohorts and trips nothing, while a build that installs fine and then overruns its FIFO, reboots,
// reports errors or shifts its anomaly scores does:
//   - rollbacks: any device of the wave rolled back (its self-test failed);
//   - FIFO overruns per device over the soak above the control's by more than a margin;
//   - reboots (boot-id changes) per device over the soak, likewise;
//   - status errors: the share of devices reporting a last error, likewise;
//   - anomaly score: the mean shift of each device's score against its own score before the
//     update, against the same shift of the control cohort.
// Thresholds are the rollout's (defaults below); a breach names the signal and both figures.

export interface SoakHealth {
  /** devices in the cohort that reported during the soak */
  devices: number;
  rolledBack: number;
  overruns: number;
  reboots: number;
  withErrors: number;
  /** per device: mean anomaly score during the soak minus its mean before the wave started; only devices with both */
  anomalyShifts: number[];
}

export interface GateThresholds {
  /** extra FIFO overruns per device and soak the wave may show above the control */
  overrunsPerDevice: number;
  rebootsPerDevice: number;
  /** extra share (0..1) of devices with a status error */
  errorShare: number;
  /** extra mean anomaly-score shift, score units (standardised distance) */
  anomalyShift: number;
}

export const DEFAULT_THRESHOLDS: GateThresholds = { overrunsPerDevice: 0.5, rebootsPerDevice: 0.5, errorShare: 0.2, anomalyShift: 1 };

const perDevice = (value: number, devices: number) => (devices === 0 ? 0 : value / devices);
const mean = (values: readonly number[]) => (values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length);
const round = (value: number) => Math.round(value * 100) / 100;

/** undefined when the wave is healthy; else the reason, naming the signal and both cohorts' figures */
export function gateBreach(wave: SoakHealth, control: SoakHealth, thresholds: GateThresholds = DEFAULT_THRESHOLDS): string | undefined {
  if (wave.rolledBack > 0) return `${wave.rolledBack} of ${wave.devices} updated devices rolled back`;
  const checks: [string, number, number, number][] = [
    ["FIFO overruns per device", perDevice(wave.overruns, wave.devices), perDevice(control.overruns, control.devices), thresholds.overrunsPerDevice],
    ["reboots per device", perDevice(wave.reboots, wave.devices), perDevice(control.reboots, control.devices), thresholds.rebootsPerDevice],
    ["share of devices with a status error", perDevice(wave.withErrors, wave.devices), perDevice(control.withErrors, control.devices), thresholds.errorShare],
  ];
  for (const [signal, updated, controlled, margin] of checks) {
    if (updated > controlled + margin) return `${signal}: ${round(updated)} on the updated devices, ${round(controlled)} on the control cohort`;
  }
  if (wave.anomalyShifts.length > 0) {
    const shift = mean(wave.anomalyShifts) - mean(control.anomalyShifts);
    if (Math.abs(shift) > thresholds.anomalyShift) {
      return `anomaly score shift: ${round(mean(wave.anomalyShifts))} on the updated devices, ${round(mean(control.anomalyShifts))} on the control cohort`;
    }
  }
  return undefined;
}
