// Issue 15: the OTA fields of a device status (sl, os, ot, op, oe) are stored in vw_status as
// slot, ota_state, ota_target, ota_bytes, ota_error when present, and left out when absent (a build
// without OTA sends none of them, and its points must not change).
import { describe, expect, it } from "vitest";
import { recordToLine } from "../../cloud/storage/line-protocol.js";
import { validateRecord } from "../../protocol/schema/validate.js";
import { sampleStatus } from "../../protocol/examples.js";
import type { BatchRecord } from "../../protocol/batch.js";

function statusRecord(extra: Record<string, unknown>): BatchRecord {
  const record = { id: 7, ts: 1_764_000_000_000_000, k: "status" as const, d: sampleStatus.d, p: { ...sampleStatus, ...extra } };
  // the same check the ingest service runs per record: the fields are part of the contract
  return validateRecord(record, 0);
}

describe("vw_status: OTA fields (issue 15)", () => {
  it("stores slot, state, target, progress and error with their types", () => {
    const line = recordToLine(statusRecord({ sl: 1, os: "rolledback", ot: "0.3.0", op: 65536, oe: "self-test: sensor" }), "s", "g");
    for (const field of [",slot=1i,", ',ota_state="rolledback",', ',ota_target="0.3.0",', ",ota_bytes=65536i,", ',ota_error="self-test: sensor",']) expect(line).toContain(field);
  });

  it("writes none of them for a status without OTA fields", () => {
    const line = recordToLine(statusRecord({}), "s", "g");
    expect(line).not.toMatch(/slot=|ota_/);
  });

  it("writes only the ones present (slot and state, no target yet)", () => {
    const line = recordToLine(statusRecord({ sl: 0, os: "idle" }), "s", "g");
    expect(line).toContain("slot=0i");
    expect(line).toContain('ota_state="idle"');
    expect(line).not.toMatch(/ota_target|ota_bytes|ota_error/);
  });
});
