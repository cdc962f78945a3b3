// bench:firmware — what one analysis window costs the device: a 2048-sample 3-axis window at
// 3200 Hz (ADXL345 counts, 3.9 mg/LSB, ±4 g), fed as 32-sample int16 FIFO blocks through
// VibrationAnalyzer.pushBlock() as the sampler does, in the simulator's XS worker (xsnap with the
// native C DSP linked in), for the native core and for the TypeScript reference core (the baseline,
// analyzer config dspCore: "reference"). Prints human lines, then one JSON line last.
//
// Figures:
// - x86 instructions per window, valgrind --tool=callgrind over the whole XS worker (XS interpreter,
//   bridge, analyzer JS and C core): each core is run twice under callgrind after identical setup
//   (bundle, init, blocks prepared, warm-up windows), once pushing K more windows and once pushing
//   none; per window = (total(K) − total(0)) / K. Whole-process totals, no toggles: everything a
//   window costs is counted, including the JS around the C core; the two runs differ only by the K
//   windows (the same commands and messages either way).
// - host µs per window: performance.now() inside XS, median of several timed runs, no valgrind.
// - XS slots allocated per window in steady state (currentHeapCount growth of a call pushing
//   windows minus that of a call pushing none) × 16 bytes (sizeof(txSlot) on the 32-bit ESP32).
// - ESP32 ms per window, estimated: cycles per x86 instruction calibrated on the FFT (Espressif
//   ESP-DSP's plain-C radix-2 float FFT, N = 2048: ≈ 370 k cycles on the ESP32, its benchmark
//   tables, esp-dsp issue #98; against the x86 instructions of our own C fft() at N = 2048, from
//   bench/native/fft-harness.c under callgrind --toggle-collect), × instructions per window / 240 MHz.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleFirmware, repoRoot } from "../simulator/bundle-firmware.js";
import type { MeterUsage, XsWorker } from "../simulator/xs-worker.js";
import type { AnalyzerConfig } from "../firmware/dsp/analyzer.js";
import type { DspCoreKind } from "../firmware/dsp/dsp-core.js";

const SAMPLE_RATE_HZ = 3200;
const WINDOW_SAMPLES = 2048;
const BLOCK_SAMPLES = 32; // the ADXL345's FIFO depth: one drain
const HOP_MS = (WINDOW_SAMPLES / SAMPLE_RATE_HZ) * 1000;
const ESP32_HZ = 240e6;
const ESP32_SLOT_BYTES = 16; // sizeof(txSlot) on the 32-bit ESP32
/** ESP-DSP dsps_fft2r_fc32_ansi, N = 2048, on the ESP32 (esp-dsp benchmark tables, issue #98) */
const ESPDSP_ANSI_FFT2048_CYCLES = 370_000;
const GOAL_NATIVE_INSTRUCTIONS = 3_000_000;
const GOAL_NATIVE_ESP32_MS = 0.05 * HOP_MS; // 5 % of the hop: 32 ms
/** windows after init before measuring: learning (learningWindows) done, buffers warm */
const WARMUP_WINDOWS = 5;
/** callgrind K per core: the reference window is ~150 M instructions, ~50× slower under valgrind */
const CALLGRIND_WINDOWS: Record<DspCoreKind, number> = { native: 20, reference: 3 };
/** timed runs: rounds × windows per round */
const TIMED: Record<DspCoreKind, { rounds: number; windows: number }> = {
  native: { rounds: 9, windows: 10 },
  reference: { rounds: 5, windows: 1 },
};
const SLOT_ROUNDS = 5;

const tones: [number, number][][] = [
  [[24.5, 3], [49, 1.2], [157, 0.8], [612, 0.5]],
  [[24.5, 2.5], [49, 0.8], [157, 0.5]],
  [[49, 2], [157, 0.3], [980, 0.2]],
];

const baseConfig: AnalyzerConfig = {
  sampleRateHz: SAMPLE_RATE_HZ, windowSamples: WINDOW_SAMPLES, hopSamples: WINDOW_SAMPLES, learningWindows: 4,
  velocityWarnMmS: 4, velocityAlarmMmS: 8, anomalyAlarm: 6,
  // as on the device behind an ADXL345 (full resolution, 3.9 mg/LSB, ±4 g): the window is int16 counts
  sampleQuantumMS2: 9.80665 / 256, fullScaleMS2: 4 * 9.80665,
};

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

function requireTools(): void {
  const missing = ["valgrind", "callgrind_annotate", "cc"].filter((tool) => spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0);
  if (missing.length === 0) return;
  const how = missing.includes("cc") ? "apt-get install valgrind build-essential" : "apt-get install valgrind (or scripts/setup)";
  console.error(`bench:firmware: missing ${missing.join(", ")}: install with \`${how}\``);
  process.exit(1);
}

const { startXsWorker, dspXsWorkerPath } = await import("../simulator/xs-worker.js");

/** a worker with the DSP entry evaluated, the analyzer made and the blocks prepared and warm */
async function setUp(core: DspCoreKind, bundle: string, commandPrefix?: string[]): Promise<{ xs: XsWorker; bufferBytes: number; emptyHeap: number; analyzerHeap: number }> {
  const xs = await startXsWorker({ name: `bench-firmware-${core}`, commandPrefix });
  try {
    await xs.evaluate(bundle);
    const emptyHeap = (await xs.call("gc")).meterUsage.currentHeapCount;
    const { bufferBytes } = (await xs.call<{ bufferBytes: number }>("init", { config: { ...baseConfig, dspCore: core } })).value;
    const analyzerHeap = (await xs.call("gc")).meterUsage.currentHeapCount - emptyHeap;
    await xs.call("prepareBlocks", { axes: tones, count: WINDOW_SAMPLES * 4, blockSamples: BLOCK_SAMPLES });
    await xs.call("runBlocks", { windows: WARMUP_WINDOWS });
    return { xs, bufferBytes, emptyHeap, analyzerHeap };
  } catch (error) {
    await xs.close().catch(() => undefined);
    throw error;
  }
}

/** host timing and steady-state allocation, without valgrind */
async function measureHost(core: DspCoreKind, bundle: string) {
  const { xs, bufferBytes, analyzerHeap } = await setUp(core, bundle);
  try {
    const slots: number[] = [];
    const k = TIMED[core].windows;
    let last: MeterUsage = (await xs.call("runBlocks", { windows: 0 })).meterUsage;
    for (let round = 0; round < SLOT_ROUNDS; round++) {
      const idle = (await xs.call("runBlocks", { windows: 0 })).meterUsage;
      const busy = (await xs.call("runBlocks", { windows: k })).meterUsage;
      const idleGrowth = idle.currentHeapCount - last.currentHeapCount;
      const busyGrowth = busy.currentHeapCount - idle.currentHeapCount;
      last = busy;
      // a garbage collection inside the call makes the growth negative: skip that sample
      if (idleGrowth >= 0 && busyGrowth >= 0) slots.push(Math.max(0, busyGrowth - idleGrowth) / k);
    }
    const micros: number[] = [];
    for (let round = 0; round < TIMED[core].rounds; round++) {
      const timed = await xs.call<{ elapsedMs: number }>("timedRunBlocks", { windows: k });
      micros.push((timed.value.elapsedMs * 1000) / k);
    }
    const { bufferBytes: memoryBytes } = (await xs.call<{ bufferBytes: number }>("memory")).value;
    return {
      microsPerWindow: median(micros), micros,
      slotsPerWindow: slots.length ? median(slots) : NaN,
      bufferBytes: memoryBytes || bufferBytes, analyzerHeapSlots: analyzerHeap,
    };
  } finally {
    await xs.close();
  }
}

function callgrindTotal(file: string): number {
  const match = /^totals:\s+(\d+)/m.exec(readFileSync(file, "utf8")) ?? /^summary:\s+(\d+)/m.exec(readFileSync(file, "utf8"));
  if (!match) throw new Error(`no totals in ${file}`);
  return Number(match[1]);
}

/** the whole worker under callgrind: setup, then `windows` windows, then close; its total Ir */
async function callgrindRun(core: DspCoreKind, bundle: string, windows: number, dir: string): Promise<number> {
  const out = join(dir, `${core}-${windows}.callgrind`);
  const prefix = ["valgrind", "--tool=callgrind", `--callgrind-out-file=${out}`, `--log-file=${out}.log`];
  const { xs } = await setUp(core, bundle, prefix);
  try {
    await xs.call("runBlocks", { windows });
  } finally {
    await xs.close(); // resolves when the worker has exited: callgrind has written its file
  }
  return callgrindTotal(out);
}

async function measureInstructions(core: DspCoreKind, bundle: string, dir: string) {
  const k = CALLGRIND_WINDOWS[core];
  // the two runs are independent processes: run them side by side (instruction counts do not depend on load)
  const [idle, busy] = await Promise.all([callgrindRun(core, bundle, 0, dir), callgrindRun(core, bundle, k, dir)]);
  return { windows: k, idleTotal: idle, busyTotal: busy, perWindow: (busy - idle) / k };
}

/** x86 instructions of one call of the C core's fft() at N = WINDOW_SAMPLES (bench/native/fft-harness.c) */
function calibrateFft(dir: string) {
  const calls = 10;
  const flags = ["-O3", "-fno-inline"]; // the worker's optimisation (xsnap-worker.mk release: -O3); fft() not inlined
  const exe = join(dir, "fft-harness");
  const compile = spawnSync("cc", [...flags, "-o", exe, join(repoRoot, "bench/native/fft-harness.c"), "-lm"], { encoding: "utf8" });
  if (compile.status !== 0) throw new Error(`cc fft-harness failed: ${compile.stderr}`);
  const out = join(dir, "fft.callgrind");
  const run = spawnSync("valgrind", ["--tool=callgrind", "--toggle-collect=fft*", `--callgrind-out-file=${out}`, exe, String(WINDOW_SAMPLES), String(calls)], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`callgrind fft-harness failed: ${run.stderr}`);
  const total = callgrindTotal(out);
  // check: the collected total is fft()'s own cost (it calls nothing): callgrind_annotate lists
  // fft with the whole total as its self cost
  const annotate = spawnSync("callgrind_annotate", [out], { encoding: "utf8" }).stdout;
  const fftLine = /^\s*([\d,]+)\s.*:fft(?:\.\w+)*\s/m.exec(annotate);
  const fftSelf = fftLine ? Number(fftLine[1]!.replace(/,/g, "")) : NaN;
  if (fftSelf !== total) throw new Error(`fft calibration: callgrind_annotate gives fft ${fftSelf}, total ${total}`);
  return { instructionsPerFft: total / calls, calls, total, flags: flags.join(" ") };
}

requireTools();
if (!existsSync(dspXsWorkerPath)) {
  console.error(`bench:firmware: no XS worker with the native DSP at ${dspXsWorkerPath}: run npm ci (or node scripts/build-xs-worker.js)`);
  process.exit(1);
}
const startedAt = performance.now();
const dir = mkdtempSync(join(tmpdir(), "vw-bench-firmware-"));
try {
  const bundle = await bundleFirmware("firmware/sim/entries/dsp-entry.ts");
  const fft = calibrateFft(dir);
  const cyclesPerInstruction = ESPDSP_ANSI_FFT2048_CYCLES / fft.instructionsPerFft;
  const host = { native: await measureHost("native", bundle), reference: await measureHost("reference", bundle) };
  const instructions = { reference: await measureInstructions("reference", bundle, dir), native: await measureInstructions("native", bundle, dir) };
  const esp32Ms = (perWindow: number) => (perWindow * cyclesPerInstruction) / (ESP32_HZ / 1000);
  const estimate = { native: esp32Ms(instructions.native.perWindow), reference: esp32Ms(instructions.reference.perWindow) };
  const allocated = { native: host.native.slotsPerWindow * ESP32_SLOT_BYTES, reference: host.reference.slotsPerWindow * ESP32_SLOT_BYTES };
  const ratio = instructions.reference.perWindow / instructions.native.perWindow;
  const goals = {
    nativeInstructionsPerWindow: { max: GOAL_NATIVE_INSTRUCTIONS, value: Math.round(instructions.native.perWindow), pass: instructions.native.perWindow <= GOAL_NATIVE_INSTRUCTIONS },
    esp32EstimateMsPerWindowNative: { max: GOAL_NATIVE_ESP32_MS, value: Number(estimate.native.toFixed(2)), pass: estimate.native <= GOAL_NATIVE_ESP32_MS },
  };
  const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

  console.log(`window: ${WINDOW_SAMPLES} samples × 3 axes at ${SAMPLE_RATE_HZ} Hz (hop ${HOP_MS} ms), ${BLOCK_SAMPLES}-sample int16 blocks through pushBlock()`);
  for (const core of ["native", "reference"] as const) {
    const i = instructions[core];
    console.log(`${core}: ${fmt(i.perWindow)} x86 instructions/window (callgrind, (${fmt(i.busyTotal)} − ${fmt(i.idleTotal)}) / ${i.windows}); `
      + `host ${host[core].microsPerWindow.toFixed(0)} µs/window; ESP32 ≈ ${estimate[core].toFixed(1)} ms/window${core === "reference" ? " (a floor)" : ""}; `
      + `${allocated[core]} bytes allocated/window; buffers ${host[core].bufferBytes} bytes`);
  }
  console.log(`calibration: our fft() at N = ${WINDOW_SAMPLES}: ${fmt(fft.instructionsPerFft)} x86 instructions (cc ${fft.flags}); ESP-DSP ANSI C ${fmt(ESPDSP_ANSI_FFT2048_CYCLES)} cycles → ${cyclesPerInstruction.toFixed(3)} ESP32 cycles per x86 instruction`);
  console.log(`ratio (reference / native instructions): ${ratio.toFixed(1)}×`);
  console.log(`goals: native ≤ ${fmt(GOAL_NATIVE_INSTRUCTIONS)} instructions/window ${goals.nativeInstructionsPerWindow.pass ? "PASS" : "FAIL"}; `
    + `native ESP32 ≤ ${GOAL_NATIVE_ESP32_MS} ms/window (5 % of the hop) ${goals.esp32EstimateMsPerWindowNative.pass ? "PASS" : "FAIL"}`);
  console.log(`bench time ${((performance.now() - startedAt) / 1000).toFixed(0)} s`);
  console.log(JSON.stringify({
    bench: "firmware",
    measured: "one 2048×3 window at 3200 Hz through VibrationAnalyzer.pushBlock (32-sample int16 blocks) in the simulator's XS worker, native C core vs TypeScript reference core",
    sampleRateHz: SAMPLE_RATE_HZ,
    windowSamples: WINDOW_SAMPLES,
    blockSamples: BLOCK_SAMPLES,
    hopMs: HOP_MS,
    instructionsMethod: "valgrind --tool=callgrind over the whole XS worker: total Ir of a run pushing K windows minus that of a run pushing 0 after identical setup, / K",
    nativeInstructionsPerWindow: Math.round(instructions.native.perWindow),
    jsInstructionsPerWindow: Math.round(instructions.reference.perWindow),
    callgrind: {
      native: { windows: instructions.native.windows, totalWithWindows: instructions.native.busyTotal, totalWithoutWindows: instructions.native.idleTotal },
      reference: { windows: instructions.reference.windows, totalWithWindows: instructions.reference.busyTotal, totalWithoutWindows: instructions.reference.idleTotal },
    },
    hostMicrosPerWindow: { native: Number(host.native.microsPerWindow.toFixed(1)), reference: Number(host.reference.microsPerWindow.toFixed(0)) },
    esp32EstimateMsPerWindow: { native: Number(estimate.native.toFixed(2)), reference: Number(estimate.reference.toFixed(1)) },
    esp32EstimateMethod: `ESP32 cycles per x86 instruction calibrated on the FFT: ESP-DSP's plain-C radix-2 float FFT at N = 2048 ≈ ${ESPDSP_ANSI_FFT2048_CYCLES} cycles (esp-dsp benchmark tables, issue #98) / x86 instructions of our C fft() at N = 2048 (callgrind --toggle-collect=fft, cc ${fft.flags}); ms = instructions per window × cycles per instruction / 240 MHz. For the native path the calibration is like for like (float C); for the XS (JS) path it is a floor: the ESP32 runs XS doubles in software, which x86 does in hardware`,
    fftCalibrationInstructions: Math.round(fft.instructionsPerFft),
    fftCalibrationCalls: fft.calls,
    fftCalibrationCompileFlags: fft.flags,
    espDspAnsiFft2048Cycles: ESPDSP_ANSI_FFT2048_CYCLES,
    cyclesPerInstruction: Number(cyclesPerInstruction.toFixed(4)),
    esp32ClockHz: ESP32_HZ,
    allocatedBytesPerWindow: allocated,
    allocatedBytesMethod: "XS slots allocated per window in steady state (currentHeapCount growth, bridge overhead removed) × 16 bytes (txSlot on the ESP32)",
    nativeBufferBytes: host.native.bufferBytes,
    referenceBufferBytes: host.reference.bufferBytes,
    analyzerHeapSlots: { native: host.native.analyzerHeapSlots, reference: host.reference.analyzerHeapSlots },
    baseline: "TypeScript reference core (dspCore: \"reference\") in the same XS worker, same run",
    baselineInstructionsPerWindow: Math.round(instructions.reference.perWindow),
    ratio: Number(ratio.toFixed(1)),
    ratioMeaning: "jsInstructionsPerWindow / nativeInstructionsPerWindow",
    goals,
    goalsPass: goals.nativeInstructionsPerWindow.pass && goals.esp32EstimateMsPerWindowNative.pass,
    benchSeconds: Math.round((performance.now() - startedAt) / 1000),
  }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
