// Runs firmware code in the real XS engine (Moddable's, built by @agoric/xsnap) as a child process.
// A bundle (see bundle-firmware.ts) is evaluated once; afterwards the host talks to it with
// call({op, ...}) and answers its hostCall()s with onHostCall. Both directions carry JSON.
// The process is not the package's stock xsnap-worker but a variant with the firmware's native DSP
// (firmware/dsp/native/*.c) linked in, built at npm ci by scripts/build-xs-worker.js from
// @agoric/xsnap's own sources; it is started through xsnap's `spawn` option.
import "@endo/init";
import { xsnap } from "@agoric/xsnap";
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import * as fsPromises from "node:fs/promises";
import { createReadStream, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { type as osType } from "node:os";
import { dirname, join } from "node:path";
import tmp from "tmp";
import { repoRoot } from "./bundle-firmware.js";

const platformDir = ({ Linux: "lin", Darwin: "mac" } as Record<string, string>)[osType()] ?? "lin";

/** the simulator's XS worker: xsnap-worker + the native DSP (scripts/build-xs-worker.js; the bench runs it under valgrind) */
export const dspXsWorkerPath = join(repoRoot, "build/xsnap-dsp/bin", platformDir, "release/xsnap-worker");

/** @agoric/xsnap's own xsnap-worker, without the native DSP */
export const stockXsWorkerPath = join(dirname(createRequire(import.meta.url).resolve("@agoric/xsnap/package.json")),
  "xsnap-native/xsnap/build/bin", platformDir, "release/xsnap-worker");

export interface MeterUsage {
  /** XS computrons (instructions metered by xsnap) spent by the last crank */
  compute: number;
  /** bytes the crank allocated */
  allocate: number;
  currentHeapCount: number;
  [key: string]: number;
}

export interface XsWorkerOptions {
  name?: string;
  /** answers the firmware's hostCall(op, args); return a JSON-able value */
  onHostCall?: (message: Record<string, unknown> & { op: string }) => unknown | Promise<unknown>;
  /** where XS print() goes; default: ignored */
  stdout?: "ignore" | "inherit" | "pipe";
  /** the xsnap-worker executable to run; default dspXsWorkerPath */
  workerPath?: string;
  /**
   * runs the worker under a command, e.g. ["valgrind", "--tool=callgrind", "--callgrind-out-file=F"]:
   * spawns prefix[0] with the rest of the prefix, the worker's path and its arguments
   */
  commandPrefix?: readonly string[];
}

export interface XsCallResult<T> {
  value: T;
  meterUsage: MeterUsage;
}

export interface XsWorker {
  /** evaluates a script (e.g. a bundle) in the worker */
  evaluate(code: string): Promise<MeterUsage>;
  /** sends a command to the firmware's onHostCommand handler; rejects with the firmware's error */
  call<T = unknown>(op: string, args?: Record<string, unknown>): Promise<XsCallResult<T>>;
  close(): Promise<void>;
  /** kills the worker at once (a simulated power cut) */
  terminate(): Promise<void>;
}

/** an exception the firmware did not catch, reported by the worker (the engine itself is fine) */
export class FirmwareError extends Error {
  override name = "FirmwareError";
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export async function startXsWorker(options: XsWorkerOptions = {}): Promise<XsWorker> {
  const bin = options.workerPath ?? dspXsWorkerPath;
  if (!existsSync(bin)) {
    throw new Error(bin === dspXsWorkerPath
      ? `the XS worker with the native DSP is missing (${bin}): run npm ci, or node scripts/build-xs-worker.js`
      : `no xsnap-worker at ${bin}`);
  }
  // xsnap computes the path of its stock binary and hands it to spawn with the arguments and stdio
  // it needs (fds 3-8); this runs `bin` instead with the same (under XSNAP_DEBUG_RR it is `rr <path> ...`)
  // with commandPrefix it is `prefix... <path> ...`
  const prefix = options.commandPrefix ?? [];
  const spawnWorker = (command: string, args: readonly string[], spawnOptions: SpawnOptions): ChildProcess => {
    if (command === "rr") return spawn(command, [bin, ...args.slice(1)], spawnOptions);
    return prefix.length > 0 ? spawn(prefix[0]!, [...prefix.slice(1), bin, ...args], spawnOptions) : spawn(bin, args, spawnOptions);
  };
  const worker = await xsnap({
    os: osType(),
    spawn: spawnWorker,
    fs: { ...fsPromises, createReadStream, tmpName: tmp.tmpName } as never,
    name: options.name ?? "vibewatch-firmware",
    meteringLimit: 0,
    stdout: options.stdout ?? "ignore",
    stderr: "inherit",
    handleCommand: async (request: Uint8Array) => {
      const message = JSON.parse(decoder.decode(request)) as Record<string, unknown> & { op: string };
      const value = options.onHostCall ? await options.onHostCall(message) : undefined;
      return encoder.encode(value === undefined ? "" : JSON.stringify(value));
    },
  });
  return {
    async evaluate(code) {
      const result = await worker.evaluate(code);
      return result.meterUsage as MeterUsage;
    },
    async call<T>(op: string, args: Record<string, unknown> = {}) {
      const result = await worker.issueCommand(encoder.encode(JSON.stringify({ op, ...args })));
      const reply = JSON.parse(decoder.decode(result.reply)) as { ok: boolean; value?: T; error?: string };
      if (!reply.ok) throw new FirmwareError(`firmware: ${reply.error}`);
      return { value: reply.value as T, meterUsage: result.meterUsage as MeterUsage };
    },
    async close() {
      await worker.close();
    },
    async terminate() {
      await worker.terminate();
    },
  };
}
