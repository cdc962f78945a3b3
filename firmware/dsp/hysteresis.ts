// Alarm state with hysteresis, so an alert does not flap around a threshold:
// - a level is entered when the value reaches its limit, and left only when the value falls below
//   limit × (1 − deadband);
// - a change of level takes effect after it has been seen in `confirmWindows` consecutive windows.
// Only changes are reported.

export type AlarmLevel = 0 | 1 | 2;

export class HysteresisAlarm {
  level: AlarmLevel = 0;
  deadband: number;
  confirmWindows: number;
  #pending: AlarmLevel = 0;
  #pendingCount = 0;

  /** strict: a level needs value > limit (ISO zones: the boundary belongs to the lower zone); else value >= limit */
  readonly strict: boolean;

  constructor(deadband = 0.1, confirmWindows = 2, strict = false) {
    this.deadband = deadband;
    this.confirmWindows = confirmWindows;
    this.strict = strict;
  }

  reset(): void {
    this.level = 0;
    this.#pending = 0;
    this.#pendingCount = 0;
  }

  /**
   * Feeds one window's value against the warning and alarm limits (a limit <= 0 or NaN is
   * disabled). Returns true when the level changed.
   */
  update(value: number, warnLimit: number, alarmLimit: number): boolean {
    const candidate = this.#candidate(value, warnLimit, alarmLimit);
    if (candidate === this.level) {
      this.#pendingCount = 0;
      return false;
    }
    if (candidate !== this.#pending) {
      this.#pending = candidate;
      this.#pendingCount = 0;
    }
    this.#pendingCount++;
    if (this.#pendingCount < this.confirmWindows) return false;
    this.level = candidate;
    this.#pendingCount = 0;
    return true;
  }

  #candidate(value: number, warnLimit: number, alarmLimit: number): AlarmLevel {
    const keep = 1 - this.deadband;
    const current = this.level;
    const alarmOn = alarmLimit > 0 && (this.#reaches(value, alarmLimit) || (current === 2 && value >= alarmLimit * keep));
    if (alarmOn) return 2;
    const warnOn = warnLimit > 0 && (this.#reaches(value, warnLimit) || (current >= 1 && value >= warnLimit * keep));
    return warnOn ? 1 : 0;
  }

  #reaches(value: number, limit: number): boolean {
    return this.strict ? value > limit : value >= limit;
  }
}
