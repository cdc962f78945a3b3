// Which devices go in which wave. Waves are cumulative percentages of the target (1, 5, 25, 100):
// wave k updates the devices up to waves[k] % of the target that earlier waves did not. Devices
// are shuffled with a seeded generator (the plan is reproducible from the rollout's seed, so a
// restarted service draws the same cohorts). The devices of the last wave are the control cohort:
// not updated until every earlier wave has passed the health gate against them.

export interface DeviceKey {
  site: string;
  device: string;
}

/** mulberry32: small, seeded, good enough to shuffle a fleet */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    let t = (state = (state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function checkWaves(waves: readonly number[]): string | undefined {
  if (waves.length < 2) return "waves: want at least two (the last, 100, updates the control cohort)";
  if (waves[waves.length - 1] !== 100) return "waves: the last must be 100";
  for (let i = 0; i < waves.length; i++) {
    const w = waves[i] as number;
    if (!Number.isInteger(w) || w < 1 || w > 100) return `waves: ${w} is not a whole percentage 1..100`;
    if (i > 0 && w <= (waves[i - 1] as number)) return "waves: want increasing percentages, e.g. 1,5,25,100";
  }
  return undefined;
}

/** The wave index of each device (the last index: the control cohort). Every earlier wave gets at least one device. */
export function assignWaves<T extends DeviceKey>(devices: readonly T[], waves: readonly number[], seed: number): (T & { wave: number })[] {
  const problem = checkWaves(waves);
  if (problem) throw new Error(problem);
  const order = [...devices].sort((a, b) => `${a.site}/${a.device}`.localeCompare(`${b.site}/${b.device}`));
  const next = random(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [order[i], order[j]] = [order[j] as T, order[i] as T];
  }
  const out: (T & { wave: number })[] = [];
  let taken = 0;
  for (let wave = 0; wave < waves.length; wave++) {
    const last = wave === waves.length - 1;
    // at least one more device per early wave, and at least one left for the control cohort
    const upTo = last ? order.length : Math.min(order.length - (waves.length - 1 - wave), Math.max(taken + 1, Math.ceil((order.length * (waves[wave] as number)) / 100)));
    for (; taken < upTo; taken++) out.push({ ...(order[taken] as T), wave });
  }
  return out;
}
