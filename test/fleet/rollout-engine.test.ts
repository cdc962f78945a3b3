// The rollout state machine (cloud/fleet/rollout/): health-gated waves against a control cohort.
// Scenario tests for the gate's signals, and a model test (fast-check commands: random outcomes,
// time, pause/resume/abort, restarts through JSON) holding the invariants the issue demands: the
// control cohort never sees the release before the last wave, offers go only to the current wave,
// a halted or aborted rollout leaves nobody waiting, and no rollout is ever stuck.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { abort, offersOf, pause, resume, startRollout, step, tally, TERMINAL, type DeviceObservation, type RolloutState } from "../../cloud/fleet/rollout/rollout-engine.js";
import { assignWaves } from "../../cloud/fleet/rollout/wave-plan.js";

const devices = Array.from({ length: 40 }, (_, i) => ({ site: i % 2 ? "plant-b" : "plant-a", device: `m${String(i).padStart(2, "0")}`, fw: "0.2.0" }));
const plan = { id: "r1", release: "0.3.0", waves: [1, 5, 25, 100], soakMs: 60_000, installDeadlineMs: 120_000, rollbackOnBreach: true, seed: 7 };
const key = (d: { site: string; device: string }) => `${d.site}/${d.device}`;

/** every device healthy on `fw` (what each reports when the fleet asks) */
function reports(state: RolloutState, fw: (d: { site: string; device: string; wave: number; state: string }) => Partial<DeviceObservation>): Map<string, DeviceObservation> {
  const lastWave = state.plan.waves.length - 1;
  return new Map(state.devices.map((d) => {
    const updated = d.wave < lastWave && ["offered", "confirmed"].includes(d.state) || (d.wave === lastWave && d.state !== "waiting");
    return [key(d), { online: true, fw: updated ? "0.3.0" : "0.2.0", otaState: updated ? "confirmed" : "idle", otaTarget: "0.3.0", boot: 1, overruns: 0, anomalyMean: 2, ...fw({ ...d, state: d.state }) }];
  }));
}

function run(state: RolloutState, observe: (s: RolloutState, nowMs: number) => Map<string, DeviceObservation>, fromMs: number, untilMs: number, stepMs = 10_000): RolloutState {
  let s = state;
  for (let t = fromMs; t <= untilMs && !["completed", "halted", "aborted"].includes(s.status); t += stepMs) s = step(s, observe(s, t), t);
  return s;
}

describe("rollout engine", () => {
  it("assigns every wave at least one device, keeps the rest for the control cohort, the same for the same seed", () => {
    const waves = assignWaves(devices, plan.waves, 7);
    expect([0, 1, 2, 3].map((w) => waves.filter((d) => d.wave === w).length)).toEqual([1, 1, 8, 30]);
    expect(assignWaves(devices, plan.waves, 7)).toEqual(waves);
    expect(assignWaves(devices, plan.waves, 8)).not.toEqual(waves);
  });

  it("rolls a good release through the 4 waves to every device", () => {
    const end = run(startRollout(plan, devices, 0), (s) => reports(s, () => ({})), 0, 10_000_000);
    expect(end.status).toBe("completed");
    expect(tally(end).confirmed).toBe(devices.length);
  });

  it("halts at the first wave a build that installs and confirms but then overruns its FIFO while the control reports none, and rolls that wave back", () => {
    const end = run(startRollout(plan, devices, 0), (s) => reports(s, (d) => (d.wave === 0 && d.state === "confirmed" ? { overruns: 3 } : {})), 0, 10_000_000);
    expect(end.status).toBe("halted");
    expect(end.reason).toMatch(/^wave 1: FIFO overruns per device: \d+ on the updated devices, 0 on the control cohort/);
    expect(end.devices.filter((d) => d.wave === 0).map((d) => d.state)).toEqual(["reverting"]);
    expect(offersOf(end)).toEqual([{ ...end.devices.find((d) => d.wave === 0), version: "0.2.0" }].map((d) => ({ site: d.site, device: d.device, version: "0.2.0" })));
    // the control cohort never saw it
    expect(end.devices.filter((d) => d.wave === 3).every((d) => d.state === "aborted")).toBe(true);
  });

  it("halts a build whose anomaly scores shift, and not one whose shift the control cohort shares", () => {
    const shifted = run(startRollout(plan, devices, 0), (s) => reports(s, (d) => ({ anomalyMean: d.wave === 0 && d.state === "confirmed" ? 6 : 2 })), 0, 10_000_000);
    expect(shifted.status).toBe("halted");
    expect(shifted.reason).toMatch(/anomaly score shift/);
    // the whole line speeds up during the soak: every device's score moves, the wave's no more than the control's
    const shared = run(startRollout(plan, devices, 0), (s, t) => reports(s, () => ({ anomalyMean: t > 100_000 ? 6 : 2 })), 0, 10_000_000);
    expect(shared.status).toBe("completed");
  });

  it("halts on a rollback, naming how many, and never offers the next wave", () => {
    const end = run(startRollout(plan, devices, 0), (s) => reports(s, (d) => (d.wave === 0 && d.state === "offered" ? { fw: "0.2.0", otaState: "rolledback", otaError: "self-test: sensor" } : {})), 0, 10_000_000);
    expect(end.status).toBe("halted");
    expect(end.reason).toBe("wave 1: 1 of 1 updated devices rolled back");
    expect(end.devices.find((d) => d.wave === 0)?.reason).toBe("self-test: sensor");
  });

  it("skips a device offline past the install deadline instead of waiting for ever", () => {
    const end = run(startRollout(plan, devices, 0), (s) => { const r = reports(s, () => ({})); for (const d of s.devices) if (d.wave === 1) r.set(key(d), { online: false }); return r; }, 0, 10_000_000);
    expect(end.status).toBe("completed");
    expect(end.devices.filter((d) => d.wave === 1).map((d) => [d.state, d.reason])).toEqual([["skipped", "offline past the install deadline"]]);
  });

  it("holds nothing against devices while paused, and resumes", () => {
    const started = run(startRollout(plan, devices, 0), (s) => reports(s, () => ({})), 0, plan.soakMs);
    expect(tally(started).offered).toBe(1);
    const paused = pause(started);
    expect(offersOf(paused)).toEqual([]);
    const held = step(paused, new Map(), 10_000_000);
    expect(tally(held).offered).toBe(1);
    expect(held.devices.find((d) => d.state === "offered")?.reason).toBeUndefined();
    const end = run(resume(held, 10_000_000), (s) => reports(s, () => ({})), 10_000_000, 30_000_000);
    expect(end.status).toBe("completed");
  });

  // the model test: any sequence of reports, time, operator actions and restarts
  const outcomeArb = fc.constantFrom("confirm", "rollback", "refuse", "offline", "silent", "overrun", "reboot");
  type Cmd = { kind: "tick"; ms: number; outcome: string; who: number } | { kind: "pause" } | { kind: "resume" } | { kind: "abort" } | { kind: "restart" };
  const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
    { weight: 60, arbitrary: fc.record({ kind: fc.constant("tick" as const), ms: fc.integer({ min: 1000, max: 200_000 }), outcome: outcomeArb, who: fc.nat(39) }) },
    { weight: 5, arbitrary: fc.constant({ kind: "pause" as const }) },
    { weight: 5, arbitrary: fc.constant({ kind: "resume" as const }) },
    { weight: 5, arbitrary: fc.constant({ kind: "restart" as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: "abort" as const }) },
  );

  it("keeps its invariants over random histories, and always ends", () => {
    fc.assert(
      fc.property(fc.array(cmdArb, { maxLength: 60 }), fc.integer({ min: 2, max: 40 }), (cmds, size) => {
        let now = 0;
        let s = startRollout(plan, devices.slice(0, size), now);
        const lastWave = plan.waves.length - 1;
        const observe = (state: RolloutState, outcome: string, who: number) => {
          const r = reports(state, () => ({}));
          const target = state.devices[who % state.devices.length]!;
          const o = r.get(key(target))!;
          if (target.state === "offered") {
            if (outcome === "rollback") Object.assign(o, { fw: "0.2.0", otaState: "rolledback" });
            if (outcome === "refuse") Object.assign(o, { fw: "0.2.0", otaState: "refused" });
            if (outcome === "silent") Object.assign(o, { fw: "0.2.0", otaState: "downloading" });
          }
          if (outcome === "offline") r.set(key(target), { online: false });
          if (outcome === "overrun") o.overruns = 5;
          if (outcome === "reboot") o.boot = 2;
          return r;
        };
        for (const cmd of cmds) {
          const before = s;
          if (cmd.kind === "tick") s = step(s, observe(s, cmd.outcome, cmd.who), (now += cmd.ms));
          else if (cmd.kind === "pause") s = pause(s);
          else if (cmd.kind === "resume") s = resume(s, now);
          else if (cmd.kind === "abort") s = abort(s);
          else s = JSON.parse(JSON.stringify(s)) as RolloutState;
          // offers go only to the current wave (or back to the old version on a rollback)
          for (const offer of offersOf(s)) {
            const d = s.devices.find((x) => key(x) === key(offer))!;
            if (offer.version === plan.release) expect(d.wave).toBe(s.wave);
          }
          // the control cohort is offered the release only in the last wave
          if (s.wave < lastWave) expect(s.devices.filter((d) => d.wave === lastWave).every((d) => d.state === "waiting" || d.state === "aborted")).toBe(true);
          if (s.status === "halted" || s.status === "aborted") expect(tally(s).waiting).toBe(0);
          // a device never leaves an outcome, except a confirmed one sent back by a rollback
          before.devices.forEach((d, i) => {
            const now_ = s.devices[i]!;
            if (TERMINAL.includes(d.state) && now_.state !== d.state) expect([d.state, now_.state]).toEqual(["confirmed", "reverting"]);
          });
        }
        // never stuck: with devices silent or gone, time alone ends it
        s = resume(s, now);
        for (let i = 0; i < 200 && !["completed", "halted", "aborted"].includes(s.status); i++) s = step(s, new Map(), (now += 100_000));
        expect(["completed", "halted", "aborted"]).toContain(s.status);
        for (let i = 0; i < 5; i++) s = step(s, new Map(), (now += 200_000));
        expect(s.devices.every((d) => TERMINAL.includes(d.state))).toBe(true);
      }),
      { numRuns: 300, seed: 16 },
    );
  });
});
