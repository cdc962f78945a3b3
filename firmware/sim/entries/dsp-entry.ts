// XS bundle entry for replay, DSP tests and the firmware bench: the analyzer alone, fed by the host.
// Commands:
//   init {config}                 new VibrationAnalyzer(config)
//   push {samples: number[]}      interleaved x,y,z m/s²; returns the windows completed (summaries)
//   tones {axes, count, offset?}  pushes `count` samples of a tone mix generated in XS (no JSON per sample)
//   prepareBlocks {axes, count, blockSamples}
//                                 generates `count` samples once as int16 counts of the analyzer's
//                                 sampleQuantumMS2, cut into views of blockSamples samples (FIFO blocks)
//   runBlocks {windows}           pushBlock()s the prepared blocks, as the sampler does, until `windows`
//                                 windows completed; returns nothing (the crank's meter is the DSP's)
//   timedRunBlocks {windows}      the same, timed with performance.now(): {elapsedMs}
//   baseline                      getBaseline()
//   memory                        bufferBytes
//   gc                            a garbage collection (the meter then shows the live heap)
import { onHostCommand } from "../host-bridge.js";
import { DEFAULT_QUANTUM_MS2, VibrationAnalyzer, toCount, type AnalyzerConfig } from "../../dsp/analyzer.js";
import { summariseWindow, type WindowSummary } from "./window-summary.js";
import { tonesSource, type Tone } from "../signals/signal-spec.js";

let analyzer: VibrationAnalyzer | undefined;
let sampleIndex = 0;

function current(): VibrationAnalyzer {
  if (!analyzer) throw new Error("dsp: init first");
  return analyzer;
}

onHostCommand("init", (message) => {
  analyzer = new VibrationAnalyzer(message.config as AnalyzerConfig);
  sampleIndex = 0;
  return { bufferBytes: analyzer.bufferBytes };
});

onHostCommand("configure", (message) => {
  current().configure(message.config as Partial<AnalyzerConfig>);
  return undefined;
});

onHostCommand("push", (message) => {
  const a = current();
  const samples = message.samples as number[];
  const out: WindowSummary[] = [];
  for (let i = 0; i + 2 < samples.length; i += 3) {
    const result = a.push(samples[i]!, samples[i + 1]!, samples[i + 2]!);
    if (result) out.push(summariseWindow(result));
  }
  return out;
});

onHostCommand("tones", (message) => {
  const a = current();
  const source = tonesSource(message.axes as [Tone[], Tone[], Tone[]], message.offset as [number, number, number] | undefined);
  const rate = a.config.sampleRateHz;
  const value = new Float64Array(3);
  const out: WindowSummary[] = [];
  const count = Number(message.count);
  for (let i = 0; i < count; i++) {
    source.sample(sampleIndex++ / rate, value);
    const result = a.push(value[0]!, value[1]!, value[2]!);
    if (result) out.push(summariseWindow(result));
  }
  return out;
});

let blocks: Int16Array[] = [];
let blockSamples = 0;
let blockIndex = 0;
let blockWindows = 0;
/** the onWindow listener of runBlocks, made once (no closure per call) */
const countWindow = (): void => {
  blockWindows++;
};

onHostCommand("prepareBlocks", (message) => {
  const a = current();
  const source = tonesSource(message.axes as [Tone[], Tone[], Tone[]]);
  const size = Number(message.blockSamples);
  const count = Math.floor(Number(message.count) / size) * size;
  if (!(size > 0) || count === 0) throw new RangeError("prepareBlocks: count must hold at least one block");
  const quantum = a.config.sampleQuantumMS2 > 0 ? a.config.sampleQuantumMS2 : DEFAULT_QUANTUM_MS2;
  const counts = new Int16Array(count * 3);
  const value = new Float64Array(3);
  for (let i = 0; i < count; i++) {
    source.sample(i / a.config.sampleRateHz, value);
    for (let axis = 0; axis < 3; axis++) counts[i * 3 + axis] = toCount(value[axis]! / quantum);
  }
  blocks = [];
  for (let start = 0; start < count; start += size) blocks.push(counts.subarray(start * 3, (start + size) * 3));
  blockSamples = size;
  blockIndex = 0;
  return { blocks: blocks.length };
});

function runBlocks(windows: number): void {
  const a = current();
  const total = blocks.length;
  if (total === 0 && windows > 0) throw new Error("dsp: prepareBlocks first");
  blockWindows = 0;
  while (blockWindows < windows) {
    a.pushBlock(blocks[blockIndex]!, blockSamples, countWindow);
    blockIndex = blockIndex + 1 === total ? 0 : blockIndex + 1;
  }
}

onHostCommand("runBlocks", (message) => {
  runBlocks(Number(message.windows));
  return undefined;
});

onHostCommand("timedRunBlocks", (message) => {
  const start = performance.now();
  runBlocks(Number(message.windows));
  return { elapsedMs: performance.now() - start };
});

onHostCommand("baseline", () => current().getBaseline());
/** collects garbage, so the crank's currentHeapCount is the live heap */
onHostCommand("gc", () => {
  (globalThis as unknown as { gc(): void }).gc(); // xsnap's global gc()
  return undefined;
});
onHostCommand("memory", () => ({ bufferBytes: current().bufferBytes }));
