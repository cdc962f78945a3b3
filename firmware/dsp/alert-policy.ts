// What the device decides from one window's measurements: the alerts. Four kinds, each a
// HysteresisAlarm (deadband, confirm windows), reporting state changes only:
// - zone: ISO 10816-3, level 1 in zone C, 2 in D (strict: a boundary value belongs to the lower zone);
// - vrms: fixed velocity thresholds on the largest axis;
// - anomaly: level 2 at the anomaly alarm;
// - sensor: level 2 when the window clips (its largest |a| reaches 98 % of full scale).
// The events are preallocated, one per kind, and reused: copy what you keep.
import type { AlertKind, MachineClass } from "../../protocol/messages.js";
import { HysteresisAlarm, type AlarmLevel } from "./hysteresis.js";
import { ISO_ZONE_LIMITS_MM_S } from "./iso-zones.js";

export interface AlertEvent {
  kind: AlertKind;
  level: AlarmLevel;
  value: number;
  limit: number;
}

/** the measurements of one window the policy decides on */
export interface WindowMeasures {
  /** largest axis velocity RMS, mm/s */
  velocityMaxMmS: number;
  /** anomaly score, null while learning */
  anomaly: number | null;
  /** largest |a| of any axis, m/s² (mean not removed) */
  maxAbsMS2: number;
}

export interface AlertLimits {
  machineClass: MachineClass;
  velocityWarnMmS: number;
  velocityAlarmMmS: number;
  anomalyAlarm: number;
  fullScaleMS2: number;
  hysteresisDeadband: number;
  confirmWindows: number;
}

const CLIP_FRACTION = 0.98;
const KINDS = ["zone", "vrms", "anomaly", "sensor"] as const;

export class AlertPolicy {
  readonly #alarms = [new HysteresisAlarm(0.1, 2, true), new HysteresisAlarm(), new HysteresisAlarm(), new HysteresisAlarm()];
  readonly #events: AlertEvent[] = KINDS.map((kind) => ({ kind, level: 0 as AlarmLevel, value: 0, limit: 0 }));

  /** takes the deadband and confirm windows in force */
  configure(limits: AlertLimits): void {
    for (const alarm of this.#alarms) {
      alarm.deadband = limits.hysteresisDeadband;
      alarm.confirmWindows = limits.confirmWindows;
    }
  }

  /** appends to `alerts` the state changes this window causes */
  evaluate(measures: WindowMeasures, limits: AlertLimits, alerts: AlertEvent[]): void {
    const zoneLimits = ISO_ZONE_LIMITS_MM_S[limits.machineClass];
    this.#check(0, measures.velocityMaxMmS, zoneLimits[1], zoneLimits[2], alerts);
    this.#check(1, measures.velocityMaxMmS, limits.velocityWarnMmS, limits.velocityAlarmMmS, alerts);
    this.#check(2, measures.anomaly ?? 0, 0, limits.anomalyAlarm, alerts);
    this.#check(3, measures.maxAbsMS2, 0, limits.fullScaleMS2 * CLIP_FRACTION, alerts);
  }

  #check(i: number, value: number, warnLimit: number, alarmLimit: number, alerts: AlertEvent[]): void {
    const alarm = this.#alarms[i]!;
    if (!alarm.update(value, warnLimit, alarmLimit)) return;
    const event = this.#events[i]!;
    event.level = alarm.level;
    event.value = value;
    event.limit = alarm.level === 2 ? alarmLimit : alarm.level === 1 ? warnLimit : value;
    alerts.push(event);
  }
}
