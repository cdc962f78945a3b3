// An OPC UA source: subscribes to the configured nodes and stores one reading per data change.
//
// Behaviour:
// - Restores itself after a server restart or a network cut: any loss (connection lost or closed,
//   session closed, subscription terminated or its status changed, or nothing heard for
//   max(3 keep-alive periods, 2 s): a silent stall) tears the session down and builds a new client,
//   session, subscription and monitored items (opcua-session.ts), after reconnectMs doubling up to
//   reconnectMaxMs, with jitter; a build that fails is retried the same way, forever. Counted in
//   vw_gateway_source_reconnects_total.
// - Gaps: the sampling intervals between the last sign of life and the first notification of the
//   new subscription are counted as gaps (vw_gateway_source_gaps_total, and the readings' gap
//   count, so the loss audit explains the missing slots).
// - Reading time: the server timestamp of the value (when the server sampled it; a source
//   timestamp can be hours old for a value that does not change), else the arrival.
import type { DataValue } from "node-opcua";
import type { OpcuaNodeConfig, OpcuaSourceConfig } from "./opcua-config.js";
import type { OpcuaSession } from "./opcua-session.js";
import { ReadingStream, type ReadingValues, type SourceContext } from "../southbound/reading-stream.js";
import type { SouthboundSource } from "../southbound/southbound-source.js";

const MIN_STALL_MS = 2000;

export class OpcuaSource implements SouthboundSource {
  readonly stream: ReadingStream;
  #session: OpcuaSession | undefined;
  #building = false;
  #stopped = false;
  #everConnected = false;
  #backoffMs = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #lastAliveMs = 0;
  /** set while down: since when, for the gap count at the first notification after the rebuild */
  #downSinceMs: number | null = null;
  readonly #stallMs: number;

  constructor(readonly config: OpcuaSourceConfig, private readonly context: SourceContext) {
    this.stream = new ReadingStream(context);
    const publishingIntervalMs = config.publishingIntervalMs ?? config.samplingIntervalMs;
    this.#stallMs = Math.max(MIN_STALL_MS, 3 * publishingIntervalMs * config.keepAliveCount);
    context.metrics.initSource(config.name);
  }

  get connected(): boolean {
    return this.#session !== undefined;
  }

  async start(): Promise<void> {
    this.#downSinceMs = Date.now();
    this.#watchdog = setInterval(() => this.#check(), Math.max(100, Math.min(1000, this.#stallMs / 4)));
    void this.#build();
  }

  async #build(): Promise<void> {
    if (this.#building || this.#stopped) return;
    this.#building = true;
    try {
      // node-opcua is large: loaded only by a gateway that has an OPC UA source
      const { OpcuaSession } = await import("./opcua-session.js");
      const session = await OpcuaSession.open(this.config, {
        changed: (index, value) => this.#changed(index, value),
        alive: () => this.#alive(),
        lost: (why) => this.#lost(why),
      });
      if (this.#stopped) {
        await session.close();
        return;
      }
      this.#session = session;
      this.#lastAliveMs = Date.now();
      this.context.metrics.sourceConnected.set({ source: this.config.name }, 1);
      if (this.#everConnected) this.context.metrics.sourceReconnects.inc({ source: this.config.name });
      this.context.log.info({ restored: this.#everConnected, nodes: this.config.nodes.length }, "opcua subscription created");
      this.#everConnected = true;
      this.#backoffMs = 0;
    } catch (error) {
      this.context.log.warn({ err: (error as Error).message }, "opcua session could not be built");
      this.#retry();
    } finally {
      this.#building = false;
    }
  }

  #retry(): void {
    if (this.#stopped) return;
    this.#backoffMs = this.#backoffMs === 0 ? this.config.reconnectMs : Math.min(this.config.reconnectMaxMs, this.#backoffMs * 2);
    const delayMs = this.#backoffMs / 2 + Math.random() * (this.#backoffMs / 2);
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => void this.#build(), delayMs);
  }

  #lost(why: string): void {
    const session = this.#session;
    if (!session || this.#stopped) return;
    this.#session = undefined;
    // a break the client saw now: down from now; a silent stall: from the last sign of life
    this.#downSinceMs ??= why === "stalled" ? this.#lastAliveMs : Date.now();
    this.context.metrics.sourceConnected.set({ source: this.config.name }, 0);
    this.context.log.warn({ why }, "opcua session lost: rebuilding it");
    void session.close();
    this.#retry();
  }

  #check(): void {
    if (this.#session && Date.now() - this.#lastAliveMs > this.#stallMs) this.#lost("stalled");
  }

  #alive(): void {
    this.#lastAliveMs = Date.now();
  }

  #changed(index: number, value: DataValue): void {
    const now = Date.now();
    this.#lastAliveMs = now;
    if (this.#downSinceMs !== null) {
      // the intervals nobody observed; the first boot's start counts none (nothing was missed yet)
      const missed = this.#everConnected && this.stream.nextSeq > 0 ? Math.max(0, Math.floor((now - this.#downSinceMs) / this.config.samplingIntervalMs) - 1) : 0;
      this.stream.gap(missed, "opcua subscription was down");
      this.#downSinceMs = null;
    }
    const node = this.config.nodes[index];
    if (!node) return;
    const values = this.#values(node, value);
    if (values === null) {
      this.context.metrics.sourcePolls.inc({ source: this.config.name, outcome: "failed" });
      this.stream.gap(1, `node ${node.nodeId}: bad status or not a ${node.output}`);
      return;
    }
    this.context.metrics.sourcePolls.inc({ source: this.config.name, outcome: "ok" });
    const timeMs = value.serverTimestamp?.getTime() ?? now;
    this.stream.storeOne(timeMs * 1000, values);
  }

  #values(node: OpcuaNodeConfig, dataValue: DataValue): ReadingValues | null {
    if (!dataValue.statusCode.isGood()) return null;
    const raw: unknown = dataValue.value?.value;
    const values: ReadingValues = { measurement: this.config.measurement };
    if (this.config.tags) values.tags = this.config.tags;
    if (node.output === "bool") {
      if (typeof raw !== "boolean") return null;
      values.bools = { [node.field]: raw };
      return values;
    }
    const number = typeof raw === "number" ? raw : typeof raw === "bigint" ? Number(raw) : NaN;
    const scaled = number * node.scale + node.offset;
    if (!Number.isFinite(scaled)) return null;
    if (node.output === "int") values.ints = { [node.field]: Math.round(scaled) };
    else values.floats = { [node.field]: scaled };
    return values;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    clearInterval(this.#watchdog);
    const session = this.#session;
    this.#session = undefined;
    await session?.close();
    this.context.metrics.sourceConnected.set({ source: this.config.name }, 0);
  }
}
