// Whether a test in this worker failed: service helpers keep their folders and logs when so.
let failed = false;

export function markTestFailed(): void {
  failed = true;
}

export function anyTestFailed(): boolean {
  return failed || process.env.VW_KEEP_LOGS === "1";
}
