// A staged rollout as a pure state machine (issue 16 point 5): step(state, observations, now)
// returns the next state; offersOf(state) says which release each device should be offered. The
// state is plain JSON, stored after every step (rollout-store), so a restarted service resumes
// where it stopped; step is idempotent for the same inputs.
//
// First a "baseline" soak: every device observed, nothing offered (the "before" of wave 1).
// Per wave: "installing" (the wave's devices are offered the release; each ends confirmed, rolled
// back, failed, or skipped when offline at the install deadline: never "in progress" for ever),
// then "soaking" (soakMs of health observed on the wave and on the control cohort), then the gate
// (health-gate.ts): pass -> the next wave; breach -> halted with the reason and, when
// rollbackOnBreach, the wave's updated devices are offered the version they ran before. The last
// wave is the control cohort itself: nothing left to compare it with, so it has no gate.
// pause() holds offers and deadlines; abort() ends it: devices not yet updated end "aborted".
import { DEFAULT_THRESHOLDS, gateBreach, type GateThresholds, type SoakHealth } from "./health-gate.js";
import { assignWaves, type DeviceKey } from "./wave-plan.js";

export type DeviceRolloutState = "waiting" | "offered" | "confirmed" | "rolledback" | "failed" | "skipped" | "reverting" | "reverted" | "aborted";
export const TERMINAL: readonly DeviceRolloutState[] = ["confirmed", "rolledback", "failed", "skipped", "reverted", "aborted"];
export type RolloutStatus = "running" | "paused" | "halted" | "completed" | "aborted";

export interface DeviceHealth {
  /** anomaly scores since the last wave was offered (the running "before") */
  preSum: number;
  preCount: number;
  /** the "before" this wave is judged against: pre, frozen when the wave was offered */
  baseSum: number;
  baseCount: number;
  soakSum: number;
  soakCount: number;
  soakReboots: number;
  soakOverruns: number;
  soakError: boolean;
  soakSeen: boolean;
  lastBoot?: number;
  lastOverruns?: number;
}

export interface RolloutDevice extends DeviceKey {
  wave: number;
  state: DeviceRolloutState;
  /** the version it ran when the rollout reached it (offered back on a rollback of the wave) */
  fromVersion?: string;
  offeredMs?: number;
  reason?: string;
  health: DeviceHealth;
}

export interface RolloutPlan {
  id: string;
  release: string;
  waves: number[];
  soakMs: number;
  installDeadlineMs: number;
  rollbackOnBreach: boolean;
  thresholds: GateThresholds;
  seed: number;
}

export interface RolloutState {
  plan: RolloutPlan;
  status: RolloutStatus;
  wave: number;
  /** baseline: one soak of observation before the first wave, so wave 1 has a "before" too */
  phase: "baseline" | "installing" | "soaking";
  phaseSinceMs: number;
  /** why it halted or what the last gate said */
  reason?: string;
  devices: RolloutDevice[];
}

/** What a device reported, as the fleet's inventory has it. */
export interface DeviceObservation {
  online: boolean;
  /** when the device last reported (its gateway's receive time); absent: now */
  seenMs?: number;
  fw?: string;
  otaState?: string;
  otaTarget?: string;
  otaError?: string;
  boot?: number;
  /** FIFO overruns since boot (status "ov") */
  overruns?: number;
  lastError?: string;
  /** mean anomaly score since the previous observation, when telemetry carried one */
  anomalyMean?: number;
}

const keyOf = (d: DeviceKey) => `${d.site}/${d.device}`;
const emptyHealth = (): DeviceHealth => ({ preSum: 0, preCount: 0, baseSum: 0, baseCount: 0, soakSum: 0, soakCount: 0, soakReboots: 0, soakOverruns: 0, soakError: false, soakSeen: false });

/** `devices`: the target, each with the version the inventory says it runs (offered back on a rollback of its wave). */
export function startRollout(plan: Omit<RolloutPlan, "thresholds"> & { thresholds?: GateThresholds }, devices: readonly (DeviceKey & { fw?: string })[], nowMs: number): RolloutState {
  if (devices.length === 0) throw new Error("rollout: the target has no devices");
  const full: RolloutPlan = { ...plan, thresholds: plan.thresholds ?? DEFAULT_THRESHOLDS };
  const assigned = assignWaves(devices, plan.waves, plan.seed).map((d): RolloutDevice => ({
    site: d.site, device: d.device, wave: d.wave, state: "waiting", health: emptyHealth(), ...(d.fw !== undefined && d.fw !== plan.release ? { fromVersion: d.fw } : {}),
  }));
  return { plan: full, status: "running", wave: 0, phase: "baseline", phaseSinceMs: nowMs, devices: assigned };
}

function offerWave(state: RolloutState, wave: number, nowMs: number, observations: ReadonlyMap<string, DeviceObservation>): RolloutState {
  const devices = state.devices.map((d): RolloutDevice => {
    if (d.state !== "waiting") return d;
    // the "before" of the wave and of the control cohort is the same span: since the previous
    // offer (or the baseline), frozen now; the running one starts again for the waves to come
    const frozen: RolloutDevice = { ...d, health: { ...d.health, baseSum: d.health.preSum, baseCount: d.health.preCount, preSum: 0, preCount: 0 } };
    if (d.wave !== wave) return frozen;
    d = frozen;
    const fw = observations.get(keyOf(d))?.fw;
    if (fw === state.plan.release) return { ...d, state: "confirmed", reason: "already running the release" };
    return { ...d, state: "offered", offeredMs: nowMs, ...(fw !== undefined ? { fromVersion: fw } : {}) };
  });
  return { ...state, wave, phase: "installing", phaseSinceMs: nowMs, devices };
}

function observeHealth(d: RolloutDevice, o: DeviceObservation, soaking: boolean): DeviceHealth {
  const h = { ...d.health };
  if (soaking) {
    h.soakSeen = true;
    if (o.boot !== undefined && h.lastBoot !== undefined && o.boot !== h.lastBoot) {
      h.soakReboots++;
      h.soakOverruns += o.overruns ?? 0;
    } else if (o.overruns !== undefined && h.lastOverruns !== undefined) {
      h.soakOverruns += Math.max(0, o.overruns - h.lastOverruns);
    }
    if (o.lastError) h.soakError = true;
    if (o.anomalyMean !== undefined) {
      h.soakSum += o.anomalyMean;
      h.soakCount++;
    }
  }
  // the running "before" of every device not yet updated, soak or not (the control's too)
  if (o.anomalyMean !== undefined && d.state === "waiting") {
    h.preSum += o.anomalyMean;
    h.preCount++;
  }
  if (o.boot !== undefined) h.lastBoot = o.boot;
  if (o.overruns !== undefined) h.lastOverruns = o.overruns;
  return h;
}

/** The install outcome a device's report shows for this release, if any. */
function outcome(d: RolloutDevice, o: DeviceObservation | undefined, release: string): Pick<RolloutDevice, "state" | "reason"> | undefined {
  if (!o) return undefined;
  if (o.fw === release && (o.otaState === "confirmed" || o.otaState === "idle" || o.otaState === undefined)) return { state: "confirmed" };
  if (o.otaTarget === release && o.otaState === "rolledback") return { state: "rolledback", reason: o.otaError ?? "rolled back" };
  if (o.otaTarget === release && (o.otaState === "refused" || o.otaState === "failed")) return { state: "failed", reason: `${o.otaState}: ${o.otaError ?? "no reason given"}` };
  return undefined;
}

function soakHealth(devices: readonly RolloutDevice[]): SoakHealth {
  const seen = devices.filter((d) => d.health.soakSeen);
  return {
    devices: seen.length,
    rolledBack: devices.filter((d) => d.state === "rolledback").length,
    overruns: seen.reduce((n, d) => n + d.health.soakOverruns, 0),
    reboots: seen.reduce((n, d) => n + d.health.soakReboots, 0),
    withErrors: seen.filter((d) => d.health.soakError).length,
    anomalyShifts: seen.filter((d) => d.health.soakCount > 0 && d.health.baseCount > 0).map((d) => d.health.soakSum / d.health.soakCount - d.health.baseSum / d.health.baseCount),
  };
}

export function step(state: RolloutState, observations: ReadonlyMap<string, DeviceObservation>, nowMs: number): RolloutState {
  if (state.status === "completed" || state.status === "aborted") return state;
  const soaking = state.status === "running" && state.phase === "soaking";
  const lastWave = state.plan.waves.length - 1;
  let devices = state.devices.map((d): RolloutDevice => {
    const o = observations.get(keyOf(d));
    const inSoak = soaking && (d.wave === state.wave || d.wave === lastWave);
    let next: RolloutDevice = o ? { ...d, health: observeHealth(d, o, inSoak) } : d;
    if (d.state === "offered") {
      const result = outcome(d, o, state.plan.release);
      if (result) next = { ...next, ...result };
      else if (state.status === "running" && nowMs - (d.offeredMs ?? nowMs) > state.plan.installDeadlineMs) {
        // failed only on a report from after the deadline that still shows no outcome: a report
        // from before it (the fleet service was down, the inventory is stale) proves nothing yet
        const deadlineMs = (d.offeredMs ?? nowMs) + state.plan.installDeadlineMs;
        if (!o?.online) next = { ...next, state: "skipped", reason: "offline past the install deadline" };
        else if ((o.seenMs ?? nowMs) > deadlineMs) next = { ...next, state: "failed", reason: "no outcome by the install deadline" };
      }
    } else if (d.state === "reverting") {
      if (o?.fw !== undefined && o.fw === d.fromVersion) next = { ...next, state: "reverted" };
      else if (nowMs - (d.offeredMs ?? nowMs) > state.plan.installDeadlineMs) next = { ...next, state: "skipped", reason: "not back on its previous version by the deadline" };
    }
    return next;
  });
  let next: RolloutState = { ...state, devices };
  if (state.status !== "running") return next;
  if (state.phase === "baseline") return nowMs - state.phaseSinceMs >= state.plan.soakMs ? offerWave(next, 0, nowMs, observations) : next;
  const wave = devices.filter((d) => d.wave === state.wave);
  if (state.phase === "installing" && wave.every((d) => TERMINAL.includes(d.state))) {
    // the soak measures from now: what the wave and the control did in earlier soaks does not count
    const fresh = (d: RolloutDevice): RolloutDevice =>
      d.wave === state.wave || d.wave === lastWave ? { ...d, health: { ...d.health, soakSum: 0, soakCount: 0, soakReboots: 0, soakOverruns: 0, soakError: false, soakSeen: false } } : d;
    return { ...next, devices: devices.map(fresh), phase: "soaking", phaseSinceMs: nowMs };
  }
  if (state.phase === "soaking" && nowMs - state.phaseSinceMs >= state.plan.soakMs) {
    if (state.wave === lastWave) return { ...next, status: "completed", reason: "every wave done" };
    const control = devices.filter((d) => d.wave === lastWave);
    const failed = wave.filter((d) => d.state === "failed").length;
    const breach = failed > 0 ? `${failed} of ${wave.length} devices of wave ${state.wave + 1} failed to install` : gateBreach(soakHealth(wave), soakHealth(control), state.plan.thresholds);
    if (breach) {
      devices = devices.map((d): RolloutDevice => {
        if (d.state === "waiting") return { ...d, state: "aborted", reason: "rollout halted" };
        if (state.plan.rollbackOnBreach && d.wave === state.wave && d.state === "confirmed" && d.fromVersion !== undefined) return { ...d, state: "reverting", offeredMs: nowMs };
        return d;
      });
      return { ...next, devices, status: "halted", reason: `wave ${state.wave + 1}: ${breach}` };
    }
    next = { ...next, reason: `wave ${state.wave + 1} healthy against the control cohort` };
    return offerWave(next, state.wave + 1, nowMs, observations);
  }
  return next;
}

export function pause(state: RolloutState): RolloutState {
  return state.status === "running" ? { ...state, status: "paused" } : state;
}

/** Resumes a paused rollout; deadlines and the soak restart from now (the pause is not held against devices). */
export function resume(state: RolloutState, nowMs: number): RolloutState {
  if (state.status !== "paused") return state;
  return { ...state, status: "running", phaseSinceMs: nowMs, devices: state.devices.map((d) => (d.state === "offered" || d.state === "reverting" ? { ...d, offeredMs: nowMs } : d)) };
}

export function abort(state: RolloutState, reason = "aborted by an operator"): RolloutState {
  if (state.status === "completed" || state.status === "aborted") return state;
  const devices = state.devices.map((d): RolloutDevice => (d.state === "waiting" || d.state === "offered" ? { ...d, state: "aborted", reason } : d));
  return { ...state, status: "aborted", reason, devices };
}

/** The release each device should be offered now (the retained …/ota offer its gateway publishes). */
export function offersOf(state: RolloutState): { site: string; device: string; version: string }[] {
  if (state.status === "paused") return [];
  return state.devices.flatMap((d) => {
    if (d.state === "offered" && state.status === "running") return [{ site: d.site, device: d.device, version: state.plan.release }];
    if (d.state === "reverting" && d.fromVersion !== undefined) return [{ site: d.site, device: d.device, version: d.fromVersion }];
    return [];
  });
}

/** Counts per device state, for status and metrics. */
export function tally(state: RolloutState): Record<DeviceRolloutState, number> {
  const out = { waiting: 0, offered: 0, confirmed: 0, rolledback: 0, failed: 0, skipped: 0, reverting: 0, reverted: 0, aborted: 0 };
  for (const d of state.devices) out[d.state]++;
  return out;
}
