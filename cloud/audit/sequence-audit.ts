// The loss audit: from the stored points' (device, boot, seq), which sequence numbers are missing
// and which are stored more than once, per device and boot, and when the gaps happened.
// Pure: the sources (InfluxDB, embedded store) only read rows.
//
// Within a boot the device numbers every message from 0, +1 per message of any kind. So:
// - missing: numbers in [0, last] absent from the store (the tail after the last stored number is
//   invisible unless the caller says how far each boot got: `expectedLast`);
// - duplicated: numbers stored as more than one point (different storage timestamps);
// - dropped by the device: the largest "dropped" counter its status messages reported in that boot.
//   Missing numbers up to that count are explained by a bound (the ring was full), the rest are not.

export interface SequenceRow {
  device: string;
  boot: number;
  seq: number;
  /** storage time, µs since epoch */
  timeUs: number;
}

export interface DropReport {
  device: string;
  boot: number;
  /** the device's cumulative ring-drop counter */
  dropped: number;
}

export interface GapRange {
  /** first and last missing sequence number */
  from: number;
  to: number;
  /** storage times of the stored neighbours around the gap, µs (null at the edges) */
  afterUs: number | null;
  beforeUs: number | null;
}

export interface BootAudit {
  device: string;
  boot: number;
  stored: number;
  firstSeq: number;
  lastSeq: number;
  missing: number;
  duplicated: number;
  /** ring drops the device itself counted and reported */
  droppedByDevice: number;
  /** missing numbers that no reported drop explains */
  unexplained: number;
  gaps: GapRange[];
  duplicateSeqs: number[];
}

export interface AuditReport {
  boots: BootAudit[];
  totals: { devices: number; boots: number; stored: number; missing: number; duplicated: number; droppedByDevice: number; unexplained: number };
}

const MAX_LISTED = 50;

export function auditSequences(
  rows: Iterable<SequenceRow>,
  drops: Iterable<DropReport> = [],
  expectedLast: ReadonlyMap<string, number> = new Map(),
): AuditReport {
  const byBoot = new Map<string, { device: string; boot: number; times: Map<number, number[]> }>();
  for (const row of rows) {
    const key = bootKey(row.device, row.boot);
    let entry = byBoot.get(key);
    if (!entry) {
      entry = { device: row.device, boot: row.boot, times: new Map() };
      byBoot.set(key, entry);
    }
    const times = entry.times.get(row.seq);
    if (times) times.push(row.timeUs);
    else entry.times.set(row.seq, [row.timeUs]);
  }
  const dropped = new Map<string, number>();
  for (const drop of drops) {
    const key = bootKey(drop.device, drop.boot);
    dropped.set(key, Math.max(dropped.get(key) ?? 0, drop.dropped));
  }

  const boots: BootAudit[] = [];
  for (const [key, entry] of byBoot) {
    const seqs = [...entry.times.keys()].sort((a, b) => a - b);
    const lastStored = seqs[seqs.length - 1] ?? -1;
    const last = Math.max(lastStored, expectedLast.get(key) ?? -1);
    const gaps: GapRange[] = [];
    let missing = 0;
    let previous = -1;
    const timeOf = (seq: number) => Math.min(...(entry.times.get(seq) ?? [NaN]));
    for (const seq of [...seqs, last + 1]) {
      if (seq > previous + 1) {
        const from = previous + 1;
        const to = seq - 1;
        missing += to - from + 1;
        if (gaps.length < MAX_LISTED) {
          gaps.push({ from, to, afterUs: previous >= 0 ? timeOf(previous) : null, beforeUs: seq <= lastStored ? timeOf(seq) : null });
        }
      }
      previous = Math.max(previous, seq);
    }
    const duplicateSeqs: number[] = [];
    let duplicated = 0;
    for (const seq of seqs) {
      const count = entry.times.get(seq)?.length ?? 0;
      if (count > 1) {
        duplicated += count - 1;
        if (duplicateSeqs.length < MAX_LISTED) duplicateSeqs.push(seq);
      }
    }
    const droppedByDevice = dropped.get(key) ?? 0;
    boots.push({
      device: entry.device,
      boot: entry.boot,
      stored: seqs.length,
      firstSeq: seqs[0] ?? -1,
      lastSeq: last,
      missing,
      duplicated,
      droppedByDevice,
      unexplained: Math.max(0, missing - droppedByDevice),
      gaps,
      duplicateSeqs,
    });
  }
  boots.sort((a, b) => a.device.localeCompare(b.device) || a.boot - b.boot);
  const totals = {
    devices: new Set(boots.map((b) => b.device)).size,
    boots: boots.length,
    stored: sum(boots, (b) => b.stored),
    missing: sum(boots, (b) => b.missing),
    duplicated: sum(boots, (b) => b.duplicated),
    droppedByDevice: sum(boots, (b) => b.droppedByDevice),
    unexplained: sum(boots, (b) => b.unexplained),
  };
  return { boots, totals };
}

export function bootKey(device: string, boot: number): string {
  return `${device}/${boot}`;
}

function sum<T>(items: T[], pick: (item: T) => number): number {
  return items.reduce((total, item) => total + pick(item), 0);
}

/** A few human lines: totals, then each boot with a problem. */
export function formatAudit(report: AuditReport): string {
  const t = report.totals;
  const lines = [
    `devices ${t.devices}, boots ${t.boots}, stored ${t.stored}, missing ${t.missing} (device-reported drops ${t.droppedByDevice}, unexplained ${t.unexplained}), duplicated ${t.duplicated}`,
  ];
  for (const boot of report.boots) {
    if (boot.missing === 0 && boot.duplicated === 0) continue;
    const gaps = boot.gaps
      .map((g) => `${g.from === g.to ? g.from : `${g.from}-${g.to}`}${g.afterUs !== null ? ` after ${new Date(g.afterUs / 1000).toISOString()}` : ""}`)
      .join(", ");
    lines.push(
      `  ${boot.device} boot ${boot.boot.toString(16)}: seq ${boot.firstSeq}..${boot.lastSeq}, missing ${boot.missing}${gaps ? ` [${gaps}]` : ""}, duplicated ${boot.duplicated}${boot.duplicateSeqs.length ? ` [${boot.duplicateSeqs.join(", ")}]` : ""}, device drops ${boot.droppedByDevice}`,
    );
  }
  return lines.join("\n");
}
