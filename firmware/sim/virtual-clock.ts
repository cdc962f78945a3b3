// The simulated board's clock: virtual milliseconds that move only when the host says so
// (advanceVirtualTime) and by what device code costs, so a test or bench runs hours of device time
// in seconds, deterministically. Timers fire in due-time order (ties: creation order), including
// timers that callbacks set or reschedule while time advances. Runs under XS; no Node API.
//
// Time passes inside callbacks, as on the ESP32 (one JavaScript thread; the cost figures are
// device-cost-model.ts's, the whole model firmware/README.md's "Time in the simulator"):
// - Device code is what runs in a timer callback (or in runAsDevice()). Its XS computrons, read from
//   the engine's meter (xs_vwsim_computrons, simulator/native/xs-computrons.c), are charged at
//   ESP32_US_PER_COMPUTRON, continuously: every clock read (virtualNowMs(), so Time.ticks and
//   Time.microseconds), every timer set and every charge first settles what was spent since the
//   last settle. The host's own code (command handlers, this file's loop) is not charged.
// - Simulator work inside device code (the bus and sensor models, the host modules' internals, the
//   native-call wrapper) runs between beginSimulatorWork() and endSimulatorWork(): its computrons
//   are not the device's. What the device would spend there is charged instead (chargeDeviceTime):
//   a bus transaction's time, a native DSP call's estimated C time.
// - A timer that falls due while a callback runs fires late, after it, in due order; a repeating
//   timer keeps its phase (Moddable's modTimersExecute: triggerTime += interval), so a long callback
//   is followed by a burst of catch-up firings, as on the device.
// In an engine without the meter (Node unit tests, a stock xsnap) computrons cost nothing.
import { ESP32_US_PER_COMPUTRON, NATIVE_DEVICE_COSTS } from "./device-cost-model.js";

interface VirtualTimer {
  id: number;
  dueMs: number;
  repeatMs: number;
  callback: (id: number) => void;
}

/** a repeating timer never fires more often than this (guards an endless loop on repeat 0) */
const MIN_REPEAT_MS = 0.001;
const MS_PER_COMPUTRON = ESP32_US_PER_COMPUTRON / 1000;

let nowMs = 0;
/**
 * where the host has brought device time (its advances, and what its own commands charged):
 * advanceVirtualTime(ms) lets ms pass after it, so device time keeps pace with the host's steps and
 * is ahead of them only while a callback overran a step
 */
let horizonMs = 0;
let nextId = 1;
const timers = new Map<number, VirtualTimer>();

const meterFunction = (globalThis as { xs_vwsim_computrons?: () => number | undefined }).xs_vwsim_computrons;
/** the engine's computron meter (simulator/native/xs-computrons.c); absent in Node or a stock xsnap */
const meter = typeof meterFunction === "function" ? meterFunction : undefined;
function readComputrons(): number {
  return meter ? meter() ?? 0 : 0;
}
/** > 0 while device code runs */
let deviceDepth = 0;
/** > 0 while simulator work runs inside device code */
let simulatorDepth = 0;
/** the meter's reading when charging last started or settled */
let meterMark = 0;

function charging(): boolean {
  return deviceDepth > 0 && simulatorDepth === 0;
}

/** charges device code the computrons it spent since the last settle (nothing outside device code) */
function settleComputrons(): void {
  if (deviceDepth === 0 || simulatorDepth > 0 || !meter) return;
  const reading = meter() ?? 0;
  // the meter is a 32-bit count (it may wrap within a long crank): subtract modulo 2^32
  nowMs += ((reading - meterMark) >>> 0) * MS_PER_COMPUTRON;
  meterMark = reading;
}

/** device code begins (from host code): returns what to restore when it ends */
function enterDevice(): number {
  const outerSimulatorDepth = simulatorDepth;
  simulatorDepth = 0;
  deviceDepth++;
  meterMark = readComputrons();
  return outerSimulatorDepth;
}

function leaveDevice(outerSimulatorDepth: number): void {
  settleComputrons();
  deviceDepth--;
  simulatorDepth = outerSimulatorDepth;
  if (charging()) meterMark = readComputrons();
}

/**
 * runs `code` as device code, its computrons charged to the clock: what a host event delivers to
 * the firmware (a socket's onReadable, a command that stands for a callback); timer callbacks are
 * run this way by advanceVirtualTime. Inside device code already, it just runs `code`.
 */
export function runAsDevice<T>(code: () => T): T {
  if (charging()) return code();
  const outer = enterDevice();
  try {
    return code();
  } finally {
    leaveDevice(outer);
  }
}

/**
 * the simulator's own work begins inside device code: what it computes is not charged. The meter
 * is read first thing (and last, in endSimulatorWork), so that this bookkeeping itself is not
 * charged either: what remains is the call into the host module, as a native call costs on the device.
 */
export function beginSimulatorWork(): void {
  const reading = meter ? meter() ?? 0 : 0;
  if (deviceDepth > 0 && simulatorDepth === 0) {
    nowMs += ((reading - meterMark) >>> 0) * MS_PER_COMPUTRON;
    meterMark = reading;
  }
  simulatorDepth++;
}

/** the simulator's work ends: device code's computrons count again from here */
export function endSimulatorWork(): void {
  if (simulatorDepth > 0) simulatorDepth--;
  if (deviceDepth > 0 && simulatorDepth === 0) meterMark = meter ? meter() ?? 0 : 0;
}

/**
 * device time that passes now: a bus transaction, a native call's C, a blocking wait. Charged by
 * the host's own commands (outside device code: a driver opened, or a register read, by a command)
 * it also moves where the host's next advance starts, so "advance 5 ms" after it still lets 5 ms
 * pass; charged inside a callback it is the callback's time, which the host's steps absorb.
 */
export function chargeDeviceTime(ms: number): void {
  settleComputrons();
  if (ms > 0) nowMs += ms;
  if (deviceDepth === 0 && nowMs > horizonMs) horizonMs = nowMs;
}

/** virtual ms now, including what the running callback has spent so far */
export function virtualNowMs(): number {
  settleComputrons();
  return nowMs;
}

/**
 * lets ms of device time pass after the previous advance's end (or after what the host's own
 * commands charged since), firing every timer due by then, in order. A callback that runs past that
 * end leaves the clock ahead: timers falling due meanwhile fire at the next advance, late, and the
 * next advance's end is still the previous end + its ms (device time keeps pace with the host's
 * steps, ahead of them only by what a callback overran).
 */
export function advanceVirtualTime(ms: number): void {
  if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`advanceVirtualTime: ms must be a finite number >= 0, got ${ms}`);
  settleComputrons();
  const targetMs = horizonMs + ms;
  for (;;) {
    let next: VirtualTimer | undefined;
    for (const timer of timers.values()) {
      if (timer.dueMs <= targetMs && (!next || timer.dueMs < next.dueMs)) next = timer;
    }
    if (!next) break;
    if (next.dueMs > nowMs) nowMs = next.dueMs;
    if (next.repeatMs > 0) next.dueMs += next.repeatMs;
    else timers.delete(next.id);
    fire(next);
  }
  if (targetMs > nowMs) nowMs = targetMs;
  horizonMs = targetMs;
}

function fire(timer: VirtualTimer): void {
  if (charging()) {
    timer.callback(timer.id);
    return;
  }
  const outer = enterDevice();
  try {
    timer.callback(timer.id);
  } finally {
    leaveDevice(outer);
  }
}

/** Timer.delay: the device blocks; here time jumps without firing timers (they run late, as on the device) */
export function delayVirtualTime(ms: number): void {
  chargeDeviceTime(ms);
}

export function setVirtualTimer(callback: (id: number) => void, ms = 0, repeatMs = 0): number {
  settleComputrons();
  const id = nextId++;
  timers.set(id, { id, dueMs: nowMs + Math.max(0, ms), repeatMs: repeatMs > 0 ? Math.max(repeatMs, MIN_REPEAT_MS) : 0, callback });
  return id;
}

export function scheduleVirtualTimer(id: number, ms = 0, repeatMs = 0): void {
  const timer = timers.get(id);
  if (!timer) return;
  settleComputrons();
  timer.dueMs = nowMs + Math.max(0, ms);
  timer.repeatMs = repeatMs > 0 ? Math.max(repeatMs, MIN_REPEAT_MS) : 0;
}

export function clearVirtualTimer(id: number): void {
  timers.delete(id);
}

export function pendingVirtualTimers(): number {
  return timers.size;
}

/**
 * Moddable's native(name) in the simulator (simulator/bundle-firmware.ts's banner) hands each host
 * function here: those with a device cost (NATIVE_DEVICE_COSTS) come back wrapped, so each call
 * charges its estimated C time; the wrapper's own JavaScript is simulator work.
 */
function nativeWithDeviceCost(name: string, hostFunction: (...args: unknown[]) => unknown): (...args: unknown[]) => unknown {
  const cost = NATIVE_DEVICE_COSTS[name];
  if (!cost) return hostFunction;
  // beginSimulatorWork()/endSimulatorWork() inlined: the wrapper's charged share (its call, the
  // rest parameter, a meter read) stays at ~15 computrons (~2 µs) per call
  return function (this: unknown, ...args: unknown[]): unknown {
    const reading = meter ? meter() ?? 0 : 0;
    if (deviceDepth > 0 && simulatorDepth === 0) {
      nowMs += ((reading - meterMark) >>> 0) * MS_PER_COMPUTRON;
      meterMark = reading;
    }
    simulatorDepth++;
    try {
      const result = hostFunction.apply(this, args);
      const ms = cost(args, result);
      if (ms > 0) nowMs += ms;
      if (deviceDepth === 0 && nowMs > horizonMs) horizonMs = nowMs;
      return result;
    } finally {
      simulatorDepth--;
      if (deviceDepth > 0 && simulatorDepth === 0) meterMark = meter ? meter() ?? 0 : 0;
    }
  };
}
(globalThis as { vwsimNativeWithDeviceCost?: typeof nativeWithDeviceCost }).vwsimNativeWithDeviceCost = nativeWithDeviceCost;
