// bench:firmware — cost of the on-device DSP (features + inference per window) in the real XS
// engine (xsnap), for a 3200 Hz 3-axis stream, against the same code in Node/V8 (baseline).
// Prints one JSON line last. Figures:
// - XS µs per window (performance.now inside XS, median over calls) and XS computrons per window
//   (xsnap meterUsage.compute of a call processing K windows minus a call processing none);
// - XS slots allocated per window in steady state (currentHeapCount growth per window, bridge
//   overhead removed; target 0), and the XS heap in use;
// - the analyzer's typed-array bytes per window length, and the largest window that fits the
//   ESP32 budget assumed below.
import { performance } from "node:perf_hooks";
import { bundleFirmware } from "../simulator/bundle-firmware.js";
import type { MeterUsage } from "../simulator/xs-worker.js";
import { VibrationAnalyzer, type AnalyzerConfig } from "../firmware/dsp/analyzer.js";

const SAMPLE_RATE_HZ = 3200;
const WINDOW_SAMPLES = Number(process.env.VW_BENCH_WINDOW ?? 2048);
const WINDOWS_PER_CALL = 4;
const ROUNDS = 9;
/**
 * ESP32 budget: Moddable's esp32/nodemcu creation gives a ~77 KB chunk heap (REFERENCE.md). The DSP
 * may take 40 KB of it; the rest is for the MQTT client, the TLS handshake (~10 KB chunk), the
 * store-and-forward ring and CBOR buffers.
 */
const ESP32_CHUNK_HEAP_BYTES = 77 * 1024;
const DSP_BUDGET_BYTES = 40 * 1024;
/** sizeof(txSlot): 16 bytes on the 32-bit ESP32, 32 on this 64-bit host */
const ESP32_SLOT_BYTES = 16;

const tones: [number, number][][] = [
  [[24.5, 3], [49, 1.2], [157, 0.8], [612, 0.5]],
  [[24.5, 2.5], [49, 0.8], [157, 0.5]],
  [[49, 2], [157, 0.3], [980, 0.2]],
];

const config: AnalyzerConfig = {
  sampleRateHz: SAMPLE_RATE_HZ, windowSamples: WINDOW_SAMPLES, hopSamples: WINDOW_SAMPLES, learningWindows: 4,
  velocityWarnMmS: 4, velocityAlarmMmS: 8, anomalyAlarm: 6,
  // as on the device behind an ADXL345 (full resolution, 3.9 mg/LSB): the window is kept as int16 counts
  sampleQuantumMS2: 9.80665 / 256, fullScaleMS2: 4 * 9.80665,
};

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function measureXs() {
  // imported only now: xs-worker loads @endo/init, whose lockdown() slows V8 on typed arrays,
  // so the V8 baseline runs first, in an untouched realm
  const { startXsWorker } = await import("../simulator/xs-worker.js");
  const xs = await startXsWorker({ name: "bench-firmware" });
  try {
    await xs.evaluate(await bundleFirmware("firmware/sim/entries/dsp-entry.ts"));
    const emptyHeapSlots = (await xs.call("gc")).meterUsage.currentHeapCount;
    await xs.call("init", { config });
    const analyzerHeapSlots = (await xs.call("gc")).meterUsage.currentHeapCount - emptyHeapSlots;
    await xs.call("prepare", { axes: tones, count: WINDOW_SAMPLES * 4 });
    await xs.call("run", { windows: 8 }); // learning done, buffers warm: steady state from here
    const computrons: number[] = [];
    const slots: number[] = [];
    const micros: number[] = [];
    let last: MeterUsage = (await xs.call("run", { windows: 0 })).meterUsage;
    for (let round = 0; round < ROUNDS; round++) {
      const idle = (await xs.call("run", { windows: 0 })).meterUsage;
      const idleGrowth = idle.currentHeapCount - last.currentHeapCount;
      const busy = (await xs.call("run", { windows: WINDOWS_PER_CALL })).meterUsage;
      const busyGrowth = busy.currentHeapCount - idle.currentHeapCount;
      last = busy;
      computrons.push((busy.compute - idle.compute) / WINDOWS_PER_CALL);
      // a garbage collection inside the call makes the growth negative: skip that sample
      if (idleGrowth >= 0 && busyGrowth >= 0) slots.push(Math.max(0, busyGrowth - idleGrowth) / WINDOWS_PER_CALL);
      const timed = await xs.call<{ elapsedMs: number }>("timedRun", { windows: WINDOWS_PER_CALL });
      micros.push((timed.value.elapsedMs * 1000) / WINDOWS_PER_CALL);
      last = timed.meterUsage;
    }
    const { bufferBytes } = (await xs.call<{ bufferBytes: number }>("memory")).value;
    const liveHeapSlots = (await xs.call("gc")).meterUsage.currentHeapCount;
    return {
      liveHeapSlots, analyzerHeapSlots,
      microsPerWindow: median(micros), computronsPerWindow: median(computrons), slotsPerWindow: slots.length ? median(slots) : NaN,
      arenaBytes: last.allocate, bufferBytes,
    };
  } finally {
    await xs.close();
  }
}

function measureV8() {
  const analyzer = new VibrationAnalyzer(config);
  const count = WINDOW_SAMPLES * 4;
  const samples = new Float32Array(count * 3);
  for (let i = 0; i < count; i++) {
    for (let a = 0; a < 3; a++) {
      let v = 0;
      for (const [hz, amplitude] of tones[a]!) v += amplitude * Math.sin((2 * Math.PI * hz * i) / SAMPLE_RATE_HZ);
      samples[i * 3 + a] = v;
    }
  }
  let index = 0;
  const runWindows = (windows: number) => {
    let done = 0;
    while (done < windows) {
      if (index >= samples.length) index = 0;
      if (analyzer.push(samples[index]!, samples[index + 1]!, samples[index + 2]!)) done++;
      index += 3;
    }
  };
  runWindows(300); // warm-up (V8 needs a few hundred windows to optimise) and learning
  const micros: number[] = [];
  for (let round = 0; round < ROUNDS * 3; round++) {
    const start = performance.now();
    runWindows(WINDOWS_PER_CALL);
    micros.push(((performance.now() - start) * 1000) / WINDOWS_PER_CALL);
  }
  return { microsPerWindow: median(micros) };
}

function largestWindowInBudget(): { windowSamples: number; bufferBytes: number; table: Record<number, number> } {
  const table: Record<number, number> = {};
  let best = { windowSamples: 0, bufferBytes: 0 };
  for (let n = 256; n <= 16384; n *= 2) {
    const bytes = new VibrationAnalyzer({ ...config, windowSamples: n, hopSamples: n }).bufferBytes;
    table[n] = bytes;
    if (bytes <= DSP_BUDGET_BYTES) best = { windowSamples: n, bufferBytes: bytes };
  }
  return { ...best, table };
}

const v8 = measureV8();
const xs = await measureXs();
const budget = largestWindowInBudget();
const windowPeriodUs = (WINDOW_SAMPLES / SAMPLE_RATE_HZ) * 1e6;

console.log(`XS: ${xs.microsPerWindow.toFixed(0)} µs and ${xs.computronsPerWindow.toFixed(0)} computrons per ${WINDOW_SAMPLES}-sample window (3 axes); the window lasts ${windowPeriodUs.toFixed(0)} µs at ${SAMPLE_RATE_HZ} Hz`);
console.log(`XS: ${xs.slotsPerWindow} slots allocated per window in steady state; live heap after GC ${xs.liveHeapSlots} slots (the analyzer's objects: ${xs.analyzerHeapSlots} slots); analyzer typed arrays ${xs.bufferBytes} bytes`);
console.log(`V8 (baseline, same code): ${v8.microsPerWindow.toFixed(0)} µs per window`);
console.log(`analyzer typed-array bytes by window: ${JSON.stringify(budget.table)}; budget ${DSP_BUDGET_BYTES} of ${ESP32_CHUNK_HEAP_BYTES} bytes chunk heap`);
console.log(JSON.stringify({
  bench: "firmware",
  measured: "features + inference per window in XS (xsnap), 3 axes, median",
  sampleRateHz: SAMPLE_RATE_HZ,
  windowSamples: WINDOW_SAMPLES,
  xsMicrosecondsPerWindow: Math.round(xs.microsPerWindow),
  xsComputronsPerWindow: Math.round(xs.computronsPerWindow),
  xsSlotsAllocatedPerWindow: xs.slotsPerWindow,
  bytesAllocatedPerWindowEsp32: xs.slotsPerWindow * ESP32_SLOT_BYTES,
  xsHeapSlotsInUse: xs.liveHeapSlots,
  analyzerHeapSlots: xs.analyzerHeapSlots,
  analyzerHeapBytesEsp32: xs.analyzerHeapSlots * ESP32_SLOT_BYTES,
  analyzerBufferBytes: xs.bufferBytes,
  esp32Budget: `DSP ≤ ${DSP_BUDGET_BYTES} bytes of the ~${ESP32_CHUNK_HEAP_BYTES}-byte chunk heap (esp32/nodemcu)`,
  largestWindowInBudget: budget.windowSamples,
  largestWindowBufferBytes: budget.bufferBytes,
  windowPeriodMicroseconds: Math.round(windowPeriodUs),
  baseline: "same DSP in Node/V8, same run",
  baselineMicrosecondsPerWindow: Math.round(v8.microsPerWindow),
  ratio: Number((xs.microsPerWindow / v8.microsPerWindow).toFixed(2)),
}));
