// The simulator's XS worker is a variant of @agoric/xsnap's xsnap-worker with the firmware's native
// DSP linked in (scripts/build-xs-worker.js, run at npm ci); firmware code reaches its host functions
// with Moddable's native("xs_vwdsp_…"), which the bundle banner defines as a global lookup.
// The stock worker has none of them: these tests fail unless the variant is the one that runs.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { nativeBanner, repoRoot } from "../../simulator/bundle-firmware.js";
import { dspXsWorkerPath, startXsWorker, stockXsWorkerPath, type XsWorker } from "../../simulator/xs-worker.js";

const binding = readFileSync(join(repoRoot, "firmware/dsp/native/dsp-binding.c"), "utf8");
const bindingVersion = Number(/#define\s+VW_DSP_BINDING_VERSION\s+(\d+)/.exec(binding)?.[1]);
/** a plain reading of the binding, independent of the build script's scanner */
const bindingNames = [...binding.matchAll(/^void\s+(xs_vwdsp_\w+)\s*\(\s*xsMachine\s*\*\s*the\s*\)/gm)].map((m) => m[1]!);

type Report = { ok: true; value: unknown } | { ok: false; error: string };

const workers: XsWorker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.close()));
});

/** evaluates `expression` in XS behind the bundles' banner; its value (or error) comes back via issueCommand */
async function evaluateIn(workerPath: string, expression: string): Promise<Report> {
  let report: Report | undefined;
  const xs = await startXsWorker({
    name: "native-worker-test",
    workerPath,
    onHostCall: (message) => {
      report = message as unknown as Report;
      return undefined;
    },
  });
  workers.push(xs);
  await xs.evaluate(`${nativeBanner}
    let report;
    try { report = { ok: true, value: ${expression} }; } catch (error) { report = { ok: false, error: String(error.message) }; }
    issueCommand(new TextEncoder().encode(JSON.stringify({ op: "report", ...report })).buffer);`);
  if (!report) throw new Error("the script reported nothing");
  return report;
}

describe("the simulator's XS worker with the native DSP", () => {
  it("is built (npm ci / node scripts/build-xs-worker.js) and is not the stock binary", () => {
    expect(existsSync(dspXsWorkerPath), dspXsWorkerPath).toBe(true);
    expect(dspXsWorkerPath).not.toBe(stockXsWorkerPath);
  });

  it('answers native("xs_vwdsp_version")() with the binding\'s VW_DSP_BINDING_VERSION', async () => {
    expect(bindingVersion).toBeGreaterThan(0);
    expect(await evaluateIn(dspXsWorkerPath, 'native("xs_vwdsp_version")()')).toEqual({ op: "report", ok: true, value: bindingVersion });
  });

  it("has every xs_vwdsp_* host function dsp-binding.c defines as a global function", async () => {
    expect(bindingNames).toContain("xs_vwdsp_version");
    const report = await evaluateIn(dspXsWorkerPath,
      `${JSON.stringify(bindingNames)}.filter((name) => typeof globalThis[name] !== "function")`);
    expect(report).toEqual({ op: "report", ok: true, value: [] });
  });

  it("the stock xsnap-worker has no xs_vwdsp_version: native() throws a clear error there", async () => {
    expect(await evaluateIn(stockXsWorkerPath, 'native("xs_vwdsp_version")()')).toEqual({
      op: "report",
      ok: false,
      error: "native: no host function xs_vwdsp_version in this XS worker",
    });
  });

  it("a missing worker binary is a clear error, not a hang", async () => {
    await expect(startXsWorker({ workerPath: join(repoRoot, "build/xsnap-dsp/no-such-worker") })).rejects.toThrow(/no xsnap-worker at/);
  });
});
