// Drives the device's MQTT client in the real XS engine (firmware/sim/entries/mqtt-client-entry.ts)
// over the simulated socket (simulator/tcp-bridge.ts: real TCP to the real broker). Virtual time
// follows real time (speed 1), so keepalive meets the real broker's clock; every call into XS goes
// through one queue, and the loop delivers socket events and advances time every few ms.
import { bundleFirmware } from "../../simulator/bundle-firmware.js";
import { startXsWorker, type XsWorker } from "../../simulator/xs-worker.js";
import { TcpBridge, type SocketSettings } from "../../simulator/tcp-bridge.js";
import type { ClientEvent, OpenCommand } from "../../firmware/sim/entries/mqtt-client-entry.js";

const ENTRY = "firmware/sim/entries/mqtt-client-entry.ts";
const LOOP_MS = 5;

export class ClientHost {
  readonly bridge: TcpBridge;
  readonly events: ClientEvent[] = [];
  readonly #worker: XsWorker;
  #queue: Promise<unknown> = Promise.resolve();
  #running = true;
  #loop: Promise<void>;
  #virtualMs = 0;
  /** the firmware error that stopped the loop, if any (an uncaught exception in a callback) */
  error: Error | undefined;

  private constructor(worker: XsWorker, bridge: TcpBridge) {
    this.#worker = worker;
    this.bridge = bridge;
    this.#loop = this.#drive();
  }

  static async start(settings: SocketSettings = {}): Promise<ClientHost> {
    const bridge = new TcpBridge(settings);
    const worker = await startXsWorker({ name: "vw-mqtt-client", onHostCall: (message) => {
      const answer = bridge.handle(message);
      if (!answer.handled) throw new Error(`unknown host call ${message.op}`);
      return answer.value;
    } });
    await worker.evaluate(await bundleFirmware(ENTRY));
    return new ClientHost(worker, bridge);
  }

  get virtualMs(): number {
    return this.#virtualMs;
  }

  open(options: Partial<OpenCommand> & Pick<OpenCommand, "name" | "port" | "clientId">): Promise<string> {
    return this.call<string>("open", { options: { host: "127.0.0.1", clean: false, keepAliveMs: 30_000, maxInboundBytes: 1024, ...options } });
  }

  publish(name: string, topic: string, payload: Uint8Array, options: { qos?: 0 | 1; retain?: boolean; id?: number } = {}): Promise<boolean> {
    return this.call<boolean>("publish", { name, topic, payload: Array.from(payload), qos: options.qos ?? 1, retain: options.retain ?? false, id: options.id });
  }

  subscribe(name: string, id: number, topics: { topic: string; qos: 0 | 1 }[]): Promise<void> {
    return this.call("subscribe", { name, id, topics });
  }

  call<T>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    const next = this.#queue.then(async () => (await this.#worker.call<T>(op, args)).value);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /** the first event of `name` matching `match` (recorded since start), waiting up to timeoutMs of real time */
  async waitFor<E extends ClientEvent["type"]>(name: string, type: E, match: (event: Extract<ClientEvent, { type: E }>) => boolean = () => true, timeoutMs = 15_000): Promise<Extract<ClientEvent, { type: E }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find((e): e is Extract<ClientEvent, { type: E }> => e.name === name && e.type === type && match(e as Extract<ClientEvent, { type: E }>));
      if (found) return found;
      if (this.error) throw this.error;
      if (Date.now() > deadline) throw new Error(`no ${type} event for ${name} within ${timeoutMs} ms; events: ${JSON.stringify(this.events.filter((e) => e.name === name).slice(-10))}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  of<E extends ClientEvent["type"]>(name: string, type: E): Extract<ClientEvent, { type: E }>[] {
    return this.events.filter((e): e is Extract<ClientEvent, { type: E }> => e.name === name && e.type === type);
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
    await this.#worker.terminate().catch(() => undefined);
    await this.bridge.dispose();
  }

  async #drive(): Promise<void> {
    let last = performance.now();
    try {
      while (this.#running) {
        const socketEvents = this.bridge.takeEvents();
        if (socketEvents.length > 0) await this.call("tcp.events", { events: socketEvents });
        const now = performance.now();
        this.#virtualMs = await this.call<number>("advance", { ms: now - last });
        last = now;
        const taken = await this.call<ClientEvent[]>("events");
        this.events.push(...taken);
        if (this.bridge.pendingEvents === 0) await new Promise((resolve) => setTimeout(resolve, LOOP_MS));
      }
    } catch (error) {
      this.error = error as Error;
    }
  }
}
