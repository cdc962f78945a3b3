// The buffer's bounds (record-buffer.ts states the policy): beyond buffer.maxBytes or
// buffer.maxAgeS the oldest droppable records go first (telemetry, status, gateway status; never
// alerts or events, which are not in `rows`), never a record in a batch in flight, and every
// dropped record is counted by reason and kind.
import type { RecordKind } from "../../protocol/batch.js";
import type { LeaseLedger } from "./lease-ledger.js";

export interface DroppableRow {
  id: number;
  bytes: number;
  ts: number;
  kind: RecordKind;
}

/** The victims, oldest first: the rows not leased, taken while `more(row, bytesLeft)` holds,
 *  where bytesLeft starts at `bytes` and falls by each victim's bytes. */
export function pickVictims(
  rows: Iterable<DroppableRow>,
  leases: LeaseLedger,
  bytes: number,
  more: (row: DroppableRow, bytesLeft: number) => boolean,
): { victims: DroppableRow[]; bytesLeft: number } {
  const victims: DroppableRow[] = [];
  let bytesLeft = bytes;
  for (const row of rows) {
    if (leases.has(row.id)) continue;
    if (!more(row, bytesLeft)) break;
    victims.push(row);
    bytesLeft -= row.bytes;
  }
  return { victims, bytesLeft };
}

/** victims per kind, for the drop counters */
export function countByKind(victims: DroppableRow[]): Map<RecordKind, number> {
  const perKind = new Map<RecordKind, number>();
  for (const victim of victims) perKind.set(victim.kind, (perKind.get(victim.kind) ?? 0) + 1);
  return perKind;
}
