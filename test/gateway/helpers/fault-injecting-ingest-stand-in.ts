// A fault-injecting stand-in for the cloud ingest service, for gateway tests ONLY: it speaks the
// protocol's batch body (CBOR, optionally gzip) and BatchReply, and on demand answers 5xx, 429 with
// Retry-After, 413, never answers (timeout), refuses connections (listener closed) or rejects
// chosen records. A real ingest service cannot produce these faults on demand. It records what it
// stored, keyed by record id (idempotent, as InfluxDB is by timestamp), to check "none twice".
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { gunzipSync } from "node:zlib";
import type { BatchRecord, BatchReply, RecordRejection } from "../../../protocol/batch.js";
import { ContractError } from "../../../protocol/errors.js";
import { MAX_BATCH_RECORDS } from "../../../protocol/limits.js";
import { cborEncoder, decodeCbor, validateBatchEnvelope, validateRecord } from "../../../protocol/schema/validate.js";

export type Fault =
  | { kind: "ok" }
  | { kind: "status"; status: number; retryAfterS?: number }
  | { kind: "timeout" }
  | { kind: "reset" };

export interface StandInOptions {
  port?: number;
  /** bodies larger than this get 413 (after decompression: the stored size matters) */
  maxBodyBytes?: number;
  /** bearer token required, when set */
  token?: string;
}

export class FaultInjectingIngestStandIn {
  /** stored records by record id */
  readonly stored = new Map<number, BatchRecord>();
  /** how many times each record id was stored (a retry after a lost reply stores it again) */
  readonly storeCount = new Map<number, number>();
  readonly served = new Map<string, number>();
  /** decides each request's fate; default: store everything */
  fault: (recordCount: number) => Fault = () => ({ kind: "ok" });
  /** per-record rejection (4xx semantics); null keeps the record */
  rejectRecord: (record: BatchRecord) => RecordRejection | null = () => null;
  readonly rejected: RecordRejection[] = [];
  batches = 0;
  gzipped = 0;
  #server: Server;
  #sockets = new Set<Socket>();
  #held = new Set<ServerResponse>();
  #port = 0;
  #listening = false;

  private constructor(private readonly options: StandInOptions) {
    this.#server = createServer((request, response) => void this.#handle(request, response));
    this.#server.on("connection", (socket) => {
      this.#sockets.add(socket);
      socket.once("close", () => this.#sockets.delete(socket));
    });
  }

  static async start(options: StandInOptions = {}): Promise<FaultInjectingIngestStandIn> {
    const standIn = new FaultInjectingIngestStandIn(options);
    await standIn.accept(options.port ?? 0);
    return standIn;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}/v1/batches`;
  }

  get port(): number {
    return this.#port;
  }

  #count(what: string): void {
    this.served.set(what, (this.served.get(what) ?? 0) + 1);
  }

  /** Listens again (on the same port after refuse()). */
  async accept(port = this.#port): Promise<void> {
    if (this.#listening) return;
    await new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(port, "127.0.0.1", () => {
        this.#server.off("error", reject);
        resolve();
      });
    });
    const address = this.#server.address();
    this.#port = typeof address === "object" && address ? address.port : port;
    this.#listening = true;
  }

  /** Closes the listener and every connection: clients get ECONNREFUSED / ECONNRESET. */
  async refuse(): Promise<void> {
    if (!this.#listening) return;
    this.#listening = false;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const response of this.#held) response.destroy();
    this.#held.clear();
    for (const socket of this.#sockets) socket.destroy();
    await closed;
    this.#count("refused");
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    let body = Buffer.concat(chunks);
    const fault = this.fault(0);
    if (fault.kind === "timeout") {
      this.#count("timeout");
      this.#held.add(response); // never answered: the client's timeout fires
      return;
    }
    if (fault.kind === "reset") {
      this.#count("reset");
      request.socket.destroy();
      return;
    }
    if (fault.kind === "status") {
      this.#count(`status_${fault.status}`);
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (fault.retryAfterS !== undefined) headers["retry-after"] = String(fault.retryAfterS);
      response.writeHead(fault.status, headers).end(JSON.stringify({ statusCode: fault.status, code: "STAND_IN_FAULT", error: "fault", message: "injected" }));
      return;
    }
    if (this.options.token && request.headers.authorization !== `Bearer ${this.options.token}`) {
      this.#count("status_401");
      response.writeHead(401).end();
      return;
    }
    if (request.headers["content-encoding"] === "gzip") {
      body = gunzipSync(body);
      this.gzipped++;
    }
    if (this.options.maxBodyBytes !== undefined && body.length > this.options.maxBodyBytes) {
      this.#count("status_413");
      response.writeHead(413).end();
      return;
    }
    let envelope;
    try {
      envelope = validateBatchEnvelope(decodeCbor(body, 64 * 1024 * 1024, { maxDepth: 8, maxItems: MAX_BATCH_RECORDS * 64 }));
    } catch (error) {
      this.#count("status_400");
      response.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ statusCode: 400, code: "BAD_BATCH", error: "Bad Request", message: (error as Error).message }));
      return;
    }
    this.batches++;
    this.#count("ok");
    const reply: BatchReply = { id: envelope.id, stored: [], rejected: [] };
    envelope.recs.forEach((value, index) => {
      let record: BatchRecord;
      try {
        record = validateRecord(value, index);
      } catch (error) {
        const id = (value as { id?: number }).id ?? -1;
        const rejection = { id, code: error instanceof ContractError ? error.code : "INVALID", reason: (error as Error).message };
        this.rejected.push(rejection);
        reply.rejected.push(rejection);
        return;
      }
      const refusal = this.rejectRecord(record);
      if (refusal) {
        this.rejected.push(refusal);
        reply.rejected.push(refusal);
        return;
      }
      this.stored.set(record.id, record);
      this.storeCount.set(record.id, (this.storeCount.get(record.id) ?? 0) + 1);
      reply.stored.push(record.id);
    });
    response.writeHead(200, { "content-type": "application/cbor" }).end(cborEncoder.encode(reply));
  }

  records(): BatchRecord[] {
    return [...this.stored.values()];
  }

  /** Readings stored under two different record ids: (device, boot, seq) seen twice. */
  duplicateReadings(): string[] {
    const seen = new Map<string, number>();
    const duplicates: string[] = [];
    for (const record of this.stored.values()) {
      if (record.k !== "tele" && record.k !== "alert") continue;
      const p = record.p as { b: number; s: number };
      const key = `${record.d}/${p.b}/${p.s}`;
      const other = seen.get(key);
      if (other !== undefined && other !== record.id) duplicates.push(key);
      seen.set(key, record.id);
    }
    return duplicates;
  }

  /** Timestamps used by two records: would collide in InfluxDB. */
  sharedTimestamps(): number {
    const timestamps = new Set<number>();
    for (const record of this.stored.values()) timestamps.add(record.ts);
    return this.stored.size - timestamps.size;
  }

  async close(): Promise<void> {
    await this.refuse();
  }
}
