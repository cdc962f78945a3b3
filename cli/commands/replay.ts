// `vibewatch replay`: runs a recorded CSV through the firmware's DSP in the real XS engine and prints
// one JSON object per window, for tuning thresholds offline on real data.
import { readFileSync } from "node:fs";
import type { Command } from "../command.js";
import { numberOption, parseCommandArgs, UsageError } from "../command.js";
// The simulator (replay runs the firmware in XS) is imported when the command runs, not when the CLI starts: it brings SES
// lockdown (@endo/init, for the XS engine), which freezes the built-ins for the whole process, and
// libraries other commands load (modbus-serial extends Buffer.prototype) cannot run after it.
type ReplayModule = typeof import("../../simulator/replay.js");
import { MACHINE_CLASSES, type MachineClass, type RangeG } from "../../protocol/messages.js";

const help = `Usage: vibewatch replay --rate <Hz> [--window <samples>] [--hop <samples>] [--sensor lis3dh|adxl345]
                        [--range <g>] [--class 1r|1f|2r|2f] [--learn <windows>] [--reference] <file.csv>

Replays recorded acceleration through the firmware's own DSP and inference, running in the XS
engine (the code that goes to the device), and prints one JSON object per window, one per line:
  window, arms [x,y,z] m/s², vrms [x,y,z] mm/s, bandHz [low,high] of vrms, peak m/s², crest,
  kurtosis, zone "A".."D" (ISO 10816-3, largest axis), anomaly (null while the baseline learns).

The CSV has one sample per row: x,y,z in m/s², an optional header line.

Options:
  --rate <Hz>         sample rate of the recording (required)
  --window <samples>  window length, a power of two 64..16384 (default 2048)
  --hop <samples>     samples between windows (default: the window length)
  --sensor <part>     pass the samples through that part's register model and driver first:
                      quantised to its resolution, clipped at --range, read from its FIFO in bursts
                      (the rate must be one the part supports: lis3dh 1344/1620/5376..., adxl345 ...3200)
  --range <g>         sensor full scale with --sensor: 2, 4, 8 or 16 (default 16)
  --class <class>     ISO 10816-3 machine class (default 2r: group 2, rigid)
  --learn <windows>   anomaly baseline learning period (default 10)
  --reference         compute with the TypeScript reference DSP instead of the native C core the
                      device runs (same features within float precision, ~50x the device cost)
  -h, --help          this text`;

export const replayCommand: Command = {
  name: "replay",
  summary: "run a recorded CSV through the firmware DSP (in XS) and print features per window",
  help,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      rate: { type: "string" }, window: { type: "string" }, hop: { type: "string" }, sensor: { type: "string" },
      range: { type: "string" }, class: { type: "string" }, learn: { type: "string" }, reference: { type: "boolean" },
    }, true);
    if (values.help) {
      console.log(help);
      return 0;
    }
    if (values.rate === undefined) throw new UsageError("--rate <Hz> is required");
    const sampleRateHz = numberOption("rate", values.rate, 0, 1, 100_000);
    const windowSamples = numberOption("window", values.window, 2048, 64, 16384);
    if ((windowSamples & (windowSamples - 1)) !== 0 || !Number.isInteger(windowSamples)) {
      throw new UsageError(`--window must be a power of two (64..16384), got ${values.window}`);
    }
    const hopSamples = numberOption("hop", values.hop, windowSamples, 1, windowSamples);
    if (!Number.isInteger(hopSamples)) throw new UsageError(`--hop must be an integer, got ${values.hop}`);
    const sensor = values.sensor;
    if (sensor !== undefined && sensor !== "lis3dh" && sensor !== "adxl345") throw new UsageError(`--sensor must be lis3dh or adxl345, got "${sensor}"`);
    const rangeG = numberOption("range", values.range, 16, 2, 16);
    if (![2, 4, 8, 16].includes(rangeG)) throw new UsageError(`--range must be 2, 4, 8 or 16, got ${values.range}`);
    const machineClass = (values.class ?? "2r") as MachineClass;
    if (!MACHINE_CLASSES.includes(machineClass)) throw new UsageError(`--class must be one of ${MACHINE_CLASSES.join(", ")}, got "${values.class}"`);
    const learningWindows = numberOption("learn", values.learn, 10, 0, 1_000_000);
    if (positionals.length !== 1) throw new UsageError(`expected exactly one CSV file, got ${positionals.length}`);
    const file = positionals[0]!;

    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      console.error(`vibewatch replay: cannot read ${file}: ${(error as Error).message}`);
      return 1;
    }
    const { CsvError, parseAccelerationCsv, replaySamples }: ReplayModule = await import("../../simulator/replay.js");
    try {
      const samples = parseAccelerationCsv(text);
      await replaySamples(samples, { sampleRateHz, windowSamples, hopSamples, sensor, rangeG: rangeG as RangeG, machineClass, learningWindows, reference: values.reference === true },
        (window) => console.log(JSON.stringify(window)));
      return 0;
    } catch (error) {
      if (error instanceof CsvError) {
        console.error(`vibewatch replay: ${file}: ${error.message}`);
        return 1;
      }
      throw error;
    }
  },
};
