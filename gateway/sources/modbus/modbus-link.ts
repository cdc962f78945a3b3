// One Modbus connection (TCP socket or RTU serial port) through modbus-serial's client: open, the
// read requests of a poll with the configured pacing between them, and close. Every request is
// bounded twice: by the client's own reply timeout, and by a guard a little longer (a promise that
// never settles would stall the poller for good; the guard turns it into a lost connection).
import { createRequire } from "node:module";
import type { ModbusRTU as ModbusClient } from "modbus-serial/ModbusRTU.js";
import type { ModbusSourceConfig } from "./modbus-config.js";
import type { ReadBlock } from "./register-decoding.js";

// modbus-serial is CommonJS and its module.exports is the client class; its typings declare an ES
// default export instead, which TypeScript (NodeNext) cannot map onto module.exports: load it with
// require and type it from its own declaration file. Loaded on the first connection, not with this
// module: it extends Buffer.prototype when it loads, which fails in a process whose built-ins SES
// has frozen (the demo runs the simulator's XS engine beside the gateway), and a gateway without a
// Modbus source should not pay for it.
let modbusClass: typeof ModbusClient | undefined;
const loadModbus = (): typeof ModbusClient => (modbusClass ??= createRequire(import.meta.url)("modbus-serial") as typeof ModbusClient);
type ModbusRTU = ModbusClient;

/** The guard's margin over the reply timeout, ms. */
const GUARD_MARGIN_MS = 1000;

/** A Modbus exception reply (illegal address, device busy): the link itself is fine. */
export class ModbusExceptionError extends Error {
  constructor(readonly modbusCode: number, message: string) {
    super(message);
    this.name = "ModbusExceptionError";
  }
}

export class ModbusLink {
  #client: ModbusRTU | undefined;
  #lost = false;

  constructor(private readonly config: ModbusSourceConfig) {}

  get open(): boolean {
    return this.#client !== undefined && !this.#lost && this.#client.isOpen;
  }

  async connect(): Promise<void> {
    this.close();
    const ModbusRTU = loadModbus();
    const client = new ModbusRTU();
    this.#lost = false;
    // errors after the connect (socket reset, port gone) mark the link lost; the poller reconnects
    client.on("error", () => (this.#lost = true));
    client.on("close", () => (this.#lost = true));
    const { config } = this;
    const opened =
      config.protocol === "tcp"
        ? client.connectTCP(config.host ?? "127.0.0.1", { port: config.port, timeout: config.timeoutMs })
        : client.connectRTUBuffered(config.path ?? "", { baudRate: config.baudRate, parity: config.parity, dataBits: config.dataBits, stopBits: config.stopBits });
    this.#client = client;
    try {
      await this.#guard(opened, "connect");
    } catch (error) {
      this.close();
      throw error;
    }
    client.setID(config.unitId);
    client.setTimeout(config.timeoutMs);
  }

  /** Reads the blocks one after the other, pausing pacingMs between requests; words (or bits as 0/1) per block. */
  async read(blocks: readonly ReadBlock[]): Promise<number[][]> {
    const out: number[][] = [];
    for (const [index, block] of blocks.entries()) {
      if (index > 0 && this.config.pacingMs > 0) await new Promise((resolve) => setTimeout(resolve, this.config.pacingMs));
      const client = this.#client;
      if (!client || !this.open) throw new Error("modbus link is not open");
      out.push(await this.#guard(this.#request(client, block), `read ${block.area} ${block.address}+${block.length}`));
    }
    return out;
  }

  async #request(client: ModbusRTU, block: ReadBlock): Promise<number[]> {
    try {
      switch (block.area) {
        case "holding":
          return (await client.readHoldingRegisters(block.address, block.length)).data;
        case "input":
          return (await client.readInputRegisters(block.address, block.length)).data;
        case "coil":
          return (await client.readCoils(block.address, block.length)).data.slice(0, block.length).map((bit: boolean) => (bit ? 1 : 0));
        case "discrete":
          return (await client.readDiscreteInputs(block.address, block.length)).data.slice(0, block.length).map((bit: boolean) => (bit ? 1 : 0));
      }
    } catch (error) {
      const code = (error as { modbusCode?: unknown }).modbusCode;
      if (typeof code === "number") throw new ModbusExceptionError(code, `modbus exception ${code}: ${(error as Error).message}`);
      throw error;
    }
  }

  async #guard<T>(promise: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const guard = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        this.#lost = true;
        reject(new Error(`${what}: no answer within ${this.config.timeoutMs + GUARD_MARGIN_MS} ms`));
      }, this.config.timeoutMs + GUARD_MARGIN_MS);
    });
    try {
      return await Promise.race([promise, guard]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    const client = this.#client;
    this.#client = undefined;
    this.#lost = true;
    if (!client) return;
    try {
      client.close(() => undefined);
    } catch {
      // closing a link that never opened
    }
  }
}
