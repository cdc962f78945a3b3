// Runs firmware code in the real XS engine (Moddable's, built by @agoric/xsnap) as a child process.
// A bundle (see bundle-firmware.ts) is evaluated once; afterwards the host talks to it with
// call({op, ...}) and answers its hostCall()s with onHostCall. Both directions carry JSON.
import "@endo/init";
import { xsnap } from "@agoric/xsnap";
import { spawn } from "node:child_process";
import * as fsPromises from "node:fs/promises";
import { createReadStream } from "node:fs";
import { type as osType } from "node:os";
import tmp from "tmp";

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

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export async function startXsWorker(options: XsWorkerOptions = {}): Promise<XsWorker> {
  const worker = await xsnap({
    os: osType(),
    spawn,
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
      if (!reply.ok) throw new Error(`firmware: ${reply.error}`);
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
