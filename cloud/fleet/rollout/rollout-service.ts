// Runs the rollouts: every tickMs each active rollout takes one step (rollout-engine.ts) on what
// the inventory says about its devices, and is saved when it changed, so a restarted service picks
// up from the last saved step (the engine's deadlines and soaks are in wall-clock ms, so time spent
// down counts: a device offline past its deadline is skipped, not waited for). Operators' start,
// pause, resume and abort go through the same queue as the ticks: one change at a time.
// One fleet service replica runs the rollouts (a second would step them twice).
import { randomBytes } from "node:crypto";
import type { FleetRepository, DeviceRecord } from "../storage/fleet-repository.js";
import { abort, offersOf, pause, resume, startRollout, step, type DeviceObservation, type RolloutState } from "./rollout-engine.js";
import { checkWaves } from "./wave-plan.js";
import type { GateThresholds } from "./health-gate.js";

export interface RolloutRequest {
  release: string;
  site?: string;
  group?: string;
  waves: number[];
  soakMs: number;
  installDeadlineMs: number;
  rollbackOnBreach: boolean;
  thresholds?: GateThresholds;
}

export class RolloutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RolloutError";
  }
}

const key = (d: { site: string; device: string }) => `${d.site}/${d.device}`;

export class RolloutService {
  #queue: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  /** the report time each device's anomaly mean was last fed to the engine (a mean is one sample, once) */
  readonly #fedAt = new Map<string, number>();

  constructor(readonly repo: FleetRepository, readonly offlineAfterMs: number, readonly now: () => number = Date.now) {}

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(fn);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  startTicking(tickMs: number, onError: (error: unknown) => void): void {
    this.#timer = setInterval(() => this.tick().catch(onError), tickMs);
  }

  stop(): Promise<unknown> {
    if (this.#timer) clearInterval(this.#timer);
    return this.#queue;
  }

  #observations(devices: readonly DeviceRecord[]): Map<string, DeviceObservation> {
    const now = this.now();
    const out = new Map<string, DeviceObservation>();
    for (const d of devices) {
      const o: DeviceObservation = { online: d.online && d.seenMs !== undefined && now - d.seenMs <= this.offlineAfterMs, ...(d.seenMs !== undefined ? { seenMs: d.seenMs } : {}) };
      if (d.fw !== undefined) o.fw = d.fw;
      if (d.otaState !== undefined) o.otaState = d.otaState;
      if (d.otaTarget !== undefined) o.otaTarget = d.otaTarget;
      if (d.otaError !== undefined) o.otaError = d.otaError;
      if (d.boot !== undefined) o.boot = d.boot;
      if (d.overruns !== undefined) o.overruns = d.overruns;
      if (d.lastError !== undefined) o.lastError = d.lastError;
      if (d.anomalyMean !== undefined && d.seenMs !== undefined && this.#fedAt.get(key(d)) !== d.seenMs) {
        o.anomalyMean = d.anomalyMean;
        this.#fedAt.set(key(d), d.seenMs);
      }
      out.set(key(d), o);
    }
    return out;
  }

  start(request: RolloutRequest): Promise<RolloutState> {
    return this.#serial(async () => {
      const problem = checkWaves(request.waves);
      if (problem) throw new RolloutError(problem);
      if ((request.site === undefined) === (request.group === undefined)) throw new RolloutError("target: want --site S or --group G");
      const releases = await this.repo.listReleases();
      if (!releases.some((r) => r.version === request.release)) throw new RolloutError(`release ${request.release} is not published (vibewatch fleet release publish DIR)`);
      const active = await this.repo.listRollouts({ active: true });
      const inventory = request.site !== undefined ? await this.repo.listDevices({ site: request.site }) : (await this.repo.listDevices()).filter((d) => d.labels.includes(request.group as string));
      const busy = new Set(active.flatMap((r) => r.devices.filter((d) => r.status !== "halted" || d.state === "reverting").map(key)));
      const clash = inventory.find((d) => busy.has(key(d)));
      if (clash) throw new RolloutError(`device ${key(clash)} is in an active rollout: finish or abort it first`);
      if (inventory.length === 0) throw new RolloutError("the target has no devices in the inventory");
      const id = `r-${this.now().toString(36)}-${randomBytes(3).toString("hex")}`;
      const targets = inventory.map((d) => ({ site: d.site, device: d.device, ...(d.fw !== undefined ? { fw: d.fw } : {}) }));
      const state = startRollout({ id, release: request.release, waves: request.waves, soakMs: request.soakMs, installDeadlineMs: request.installDeadlineMs, rollbackOnBreach: request.rollbackOnBreach, seed: randomBytes(4).readUInt32LE(0), ...(request.thresholds ? { thresholds: request.thresholds } : {}) }, targets, this.now());
      await this.repo.saveRollout(state, this.now());
      return state;
    });
  }

  /** One step of every active rollout. */
  tick(): Promise<void> {
    return this.#serial(async () => {
      const rollouts = await this.repo.listRollouts({ active: true });
      if (rollouts.length === 0) return;
      const observations = this.#observations(await this.repo.listDevices());
      for (const state of rollouts) {
        const next = step(state, observations, this.now());
        if (JSON.stringify(next) !== JSON.stringify(state)) await this.repo.saveRollout(next, this.now());
      }
    });
  }

  #change(id: string, change: (state: RolloutState) => RolloutState): Promise<RolloutState> {
    return this.#serial(async () => {
      const state = await this.repo.getRollout(id);
      if (!state) throw new RolloutError(`no rollout ${id}`);
      const next = change(state);
      await this.repo.saveRollout(next, this.now());
      return next;
    });
  }

  pause(id: string): Promise<RolloutState> {
    return this.#change(id, pause);
  }

  resume(id: string): Promise<RolloutState> {
    return this.#change(id, (s) => resume(s, this.now()));
  }

  abort(id: string): Promise<RolloutState> {
    return this.#change(id, (s) => abort(s));
  }

  /** What a site's gateway should offer now: every active rollout's offers at that site. */
  async offersFor(site: string): Promise<{ device: string; version: string }[]> {
    const rollouts = await this.repo.listRollouts({ active: true });
    return rollouts.flatMap((r) => offersOf(r)).filter((o) => o.site === site).map(({ device, version }) => ({ device, version }));
  }
}
