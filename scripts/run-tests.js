#!/usr/bin/env node
// Runs the whole vitest suite and ends with the plain line CI reads: "N passed, N failed".
// Vitest's own summary is not parsed by CI, so the counts come from its JSON report.
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";

const reportPath = "test-results/vitest.json";
rmSync(reportPath, { force: true });
const run = spawnSync("npx", ["vitest", "run", ...process.argv.slice(2)], { stdio: "inherit" });

let passed = 0;
let failed = 0;
let skipped = 0;
try {
  const report = JSON.parse(readFileSync(reportPath, "utf8"));
  passed = report.numPassedTests ?? 0;
  failed = report.numFailedTests ?? 0;
  // a file that fails to load or a hook that throws fails suites without failing a test
  if (failed === 0) failed = report.numFailedTestSuites ?? 0;
  skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
} catch (error) {
  console.error(`run-tests: no vitest report (${error.message})`);
  failed += 1;
}
if (run.status !== 0 && failed === 0) failed = 1; // a crash or a suite error still fails the run
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
