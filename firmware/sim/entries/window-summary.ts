// A plain-data copy of a WindowResult (the analyzer reuses its result object), for the host.
import type { WindowResult } from "../../dsp/analyzer.js";

export interface WindowSummary {
  window: number;
  arms: number[];
  vrms: number[];
  bandHz: number[];
  peak: number;
  crest: number;
  kurtosis: number;
  zone: number;
  anomaly: number | null;
  baselineState: number;
  dominantAxis: number;
  bands: number[];
  bandEdgesHz: number[];
  alerts: { kind: string; level: number; value: number; limit: number }[];
}

export function summariseWindow(r: WindowResult): WindowSummary {
  return {
    window: r.index,
    arms: Array.from(r.accelRmsMS2),
    vrms: Array.from(r.velocityRmsMmS),
    bandHz: [r.bandHz[0], r.bandHz[1]],
    peak: r.peakMS2,
    crest: r.crest,
    kurtosis: r.kurtosis,
    zone: r.zone,
    anomaly: r.anomaly,
    baselineState: r.baselineState,
    dominantAxis: r.dominantAxis,
    bands: Array.from(r.bandRmsMS2),
    bandEdgesHz: r.bandEdgesHz.slice(),
    alerts: r.alerts.map((a) => ({ kind: a.kind, level: a.level, value: a.value, limit: a.limit })),
  };
}
