// A Modbus source: polls one unit over TCP or RTU every intervalMs and stores one reading per poll.
//
// Behaviour:
// - Poll slots are fixed on the clock: slot k is due at start + k * intervalMs. Each slot yields a
//   reading or a counted gap, never a repeated stale value: a failed request (timeout, exception
//   reply, lost link), a slot that finds the link down, a slot still busy with the previous poll,
//   and slots the event loop slept through are gaps (vw_gateway_source_gaps_total, and the next
//   reading's gap count, so the loss audit explains them).
// - A lost link (socket closed, reply timeout, guard expired) is closed and reopened with backoff:
//   reconnectMs doubling up to reconnectMaxMs, with jitter; a successful poll resets the backoff.
//   A Modbus exception reply keeps the link (the device answered).
// - Requests of one poll go one at a time with pacingMs between them (devices that need time between frames).
import type { ModbusSourceConfig } from "./modbus-config.js";
import { ModbusExceptionError, ModbusLink } from "./modbus-link.js";
import { checkRegister, decodeValue, planBlocks, wordsOf, type ReadBlock } from "./register-decoding.js";
import { ReadingStream, type ReadingValues, type SourceContext } from "../southbound/reading-stream.js";
import type { SouthboundSource } from "../southbound/southbound-source.js";

export class ModbusSource implements SouthboundSource {
  readonly stream: ReadingStream;
  readonly #link: ModbusLink;
  readonly #blocks: ReadBlock[];
  #timer: NodeJS.Timeout | undefined;
  #startMs = 0;
  #nextSlot = 0;
  #busy = false;
  #connecting = false;
  #everConnected = false;
  #backoffMs = 0;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(readonly config: ModbusSourceConfig, private readonly context: SourceContext) {
    for (const register of config.registers) {
      const problem = checkRegister(register);
      if (problem) throw new Error(`source ${config.name}: ${problem}`);
    }
    if (config.protocol === "tcp" && !config.host) throw new Error(`source ${config.name}: protocol tcp needs host`);
    if (config.protocol === "rtu" && !config.path) throw new Error(`source ${config.name}: protocol rtu needs path`);
    this.stream = new ReadingStream(context);
    this.#link = new ModbusLink(config);
    this.#blocks = planBlocks(config.registers);
    context.metrics.initSource(config.name);
  }

  get connected(): boolean {
    return this.#link.open;
  }

  async start(): Promise<void> {
    this.#startMs = Date.now();
    this.#nextSlot = 0;
    // the first connect is tried at once; slot 0 is due one interval later
    void this.#connect();
    this.#schedule();
  }

  #schedule(): void {
    if (this.#stopped) return;
    const dueMs = this.#startMs + (this.#nextSlot + 1) * this.config.intervalMs;
    this.#timer = setTimeout(() => this.#tick(), Math.max(0, dueMs - Date.now()));
  }

  #tick(): void {
    if (this.#stopped) return;
    // slots the event loop slept through (a stalled host) are gaps too
    const due = Math.floor((Date.now() - this.#startMs) / this.config.intervalMs) - 1;
    if (due > this.#nextSlot) {
      this.stream.gap(due - this.#nextSlot, "slots missed by a late timer");
      this.#nextSlot = due;
    }
    this.#nextSlot += 1;
    this.#schedule();
    if (this.#busy) {
      this.#failed("the previous poll is still running");
      return;
    }
    if (!this.#link.open) {
      this.#failed("not connected");
      // the reconnect runs on its own timer (#lost), whatever the poll interval; a link that
      // closed between two polls (the peer hung up) starts that timer here
      if (!this.#connecting && !this.#reconnectTimer) this.#lost(new Error("link closed"));
      return;
    }
    void this.#poll();
  }

  #failed(why: string): void {
    this.context.metrics.sourcePolls.inc({ source: this.config.name, outcome: "failed" });
    this.stream.gap(1, why);
  }

  async #connect(): Promise<void> {
    if (this.#connecting || this.#stopped) return;
    this.#connecting = true;
    try {
      await this.#link.connect();
      if (this.#stopped) {
        this.#link.close();
        return;
      }
      this.context.metrics.sourceConnected.set({ source: this.config.name }, 1);
      if (this.#everConnected) this.context.metrics.sourceReconnects.inc({ source: this.config.name });
      this.context.log.info({ reconnect: this.#everConnected }, "modbus connected");
      this.#everConnected = true;
    } catch (error) {
      this.#lost(error);
    } finally {
      this.#connecting = false;
    }
  }

  #lost(error: unknown): void {
    this.#link.close();
    this.context.metrics.sourceConnected.set({ source: this.config.name }, 0);
    // one reconnect timer at a time (a failed poll and the link's close event both land here)
    if (this.#reconnectTimer || this.#stopped) return;
    this.#backoffMs = this.#backoffMs === 0 ? this.config.reconnectMs : Math.min(this.config.reconnectMaxMs, this.#backoffMs * 2);
    const delayMs = this.#backoffMs / 2 + Math.random() * (this.#backoffMs / 2);
    this.context.log.warn({ err: (error as Error)?.message ?? String(error), retryInMs: Math.round(delayMs) }, "modbus link lost");
    // reconnect on time even when the poll interval is longer than the backoff
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (!this.#stopped && !this.#link.open) void this.#connect();
    }, delayMs);
  }

  async #poll(): Promise<void> {
    this.#busy = true;
    const startedUs = Date.now() * 1000;
    try {
      const words = await this.#link.read(this.#blocks);
      if (this.#stopped) return;
      const values = this.#decode(words);
      this.context.metrics.sourcePolls.inc({ source: this.config.name, outcome: "ok" });
      this.#backoffMs = 0;
      this.stream.storeOne(startedUs, values);
    } catch (error) {
      if (this.#stopped) return;
      this.#failed((error as Error).message);
      if (!(error instanceof ModbusExceptionError)) this.#lost(error);
      else this.context.log.warn({ err: error.message }, "modbus exception reply: poll counted as a gap");
    } finally {
      this.#busy = false;
    }
  }

  #decode(blockWords: number[][]): ReadingValues {
    const values: ReadingValues = { measurement: this.config.measurement, floats: {}, ints: {}, bools: {} };
    if (this.config.tags) values.tags = this.config.tags;
    for (const register of this.config.registers) {
      const blockIndex = this.#blocks.findIndex((b) => b.area === register.area && register.address >= b.address && register.address + wordsOf(register) <= b.address + b.length);
      const block = this.#blocks[blockIndex] as ReadBlock;
      const words = (blockWords[blockIndex] ?? []).slice(register.address - block.address, register.address - block.address + wordsOf(register));
      const decoded = decodeValue(register, words);
      // a float32 NaN (a sensor fault) is left out of this reading, not stored as a number
      if (decoded === null) continue;
      if (decoded.kind === "bool") (values.bools as Record<string, boolean>)[register.field] = decoded.value;
      else if (decoded.kind === "int") (values.ints as Record<string, number>)[register.field] = decoded.value;
      else (values.floats as Record<string, number>)[register.field] = decoded.value;
    }
    return values;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#reconnectTimer);
    this.#link.close();
    this.context.metrics.sourceConnected.set({ source: this.config.name }, 0);
  }
}
