// InfluxDB 1.x writer: POST /write?db&rp&precision=u with line protocol (InfluxDB 1.x, and 2.x/3.x
// through their v1 compatibility API). Basic auth keeps the password out of URLs and logs.
// Batches of at most maxLinesPerWrite lines (InfluxDB's advice: 5,000), gzip above a threshold.
//
// Status handling (InfluxDB 1.x /write): 204 stored; 400 bad line or type conflict (a "partial
// write" stores the other lines) and 413 too large -> LinesRefusedError, bisected to single
// records; 404 no database, 401/403 auth, 5xx, network errors, timeouts -> StorageUnavailableError.
// A missing database (a fresh server, or one dropped) is created once, with CREATE DATABASE, and
// the write tried again, unless createDatabase is false (then, or when the user may not create it,
// the 503 names the database and what to do).
import { promisify } from "node:util";
import { gzip as gzipCallback } from "node:zlib";
import type { StoredRecord } from "./point-schema.js";
import { formatAndSend, LinesRefusedError, StorageUnavailableError, unavailableFrom, type Writer, type WriteResult } from "./writer.js";

const gzip = promisify(gzipCallback);
// Level 1: a 5,000-line body of telemetry shrinks 21x at 0.8 µs of CPU per line, against 25x at
// 1.8 µs for zlib's default level 6 (measured 2026-11-28), on the cores InfluxDB needs. One
// 256 KiB output chunk holds such a body whole: one completion callback instead of one per 16 KiB.
const GZIP_OPTIONS = { level: 1, chunkSize: 256 * 1024 };

export interface InfluxV1WriterOptions {
  url: string;
  database: string;
  retentionPolicy?: string;
  username?: string;
  password?: string;
  timeoutMs: number;
  gzipThresholdBytes: number;
  maxLinesPerWrite: number;
  /** CREATE DATABASE when a write finds none (default true) */
  createDatabase?: boolean;
}

export class InfluxV1Writer implements Writer {
  readonly kind = "influx-v1";
  readonly #writeUrl: string;
  readonly #headers: Record<string, string>;
  #closed = false;
  /** one CREATE DATABASE at a time, shared by the writes that found the database missing */
  #creating: Promise<void> | undefined;
  /** databases created by this writer (for the log and tests) */
  databasesCreated = 0;

  constructor(readonly options: InfluxV1WriterOptions) {
    const params = new URLSearchParams({ db: options.database, precision: "u" });
    if (options.retentionPolicy) params.set("rp", options.retentionPolicy);
    this.#writeUrl = `${options.url.replace(/\/+$/, "")}/write?${params}`;
    this.#headers = { "content-type": "text/plain; charset=utf-8" };
    if (options.username !== undefined) {
      const basic = Buffer.from(`${options.username}:${options.password ?? ""}`).toString("base64");
      this.#headers.authorization = `Basic ${basic}`;
    }
  }

  // not async: the records are formatted before this returns, and the pending write holds only
  // the lines and ids (see formatAndSend)
  write(records: StoredRecord[]): Promise<WriteResult> {
    if (this.#closed) return Promise.reject(new StorageUnavailableError("closed", "writer is closed"));
    if (records.length === 0) return Promise.resolve({ rejected: [] });
    try {
      return formatAndSend(records, this.options.maxLinesPerWrite, (body) => this.sendBody(body));
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  /** One POST /write of already-formatted lines (also used by the benchmark's baseline). */
  async sendBody(lines: Buffer): Promise<void> {
    try {
      await this.#post(lines);
    } catch (error) {
      if (!(error instanceof StorageUnavailableError) || error.reason !== "no-database") throw error;
      if (this.options.createDatabase === false) {
        throw new StorageUnavailableError("no-database", `InfluxDB has no database "${this.options.database}" and createDatabase is off: create it (${error.message})`);
      }
      this.#creating ??= this.#createDatabase().finally(() => (this.#creating = undefined));
      await this.#creating;
      await this.#post(lines);
    }
  }

  async #createDatabase(): Promise<void> {
    const url = `${this.options.url.replace(/\/+$/, "")}/query`;
    const body = new URLSearchParams({ q: `CREATE DATABASE ${quoteIdentifier(this.options.database)}` });
    let response: Response;
    try {
      response = await fetch(url, { method: "POST", headers: { ...this.#headers, "content-type": "application/x-www-form-urlencoded" }, body, signal: AbortSignal.timeout(this.options.timeoutMs) });
    } catch (error) {
      throw unavailableFrom(error, "InfluxDB CREATE DATABASE");
    }
    const detail = await errorText(response);
    // /query answers 200 with {"results":[{"error": ...}]} when the statement itself fails
    if (response.status !== 200 || /"error"/.test(detail)) {
      throw new StorageUnavailableError("no-database", `InfluxDB has no database "${this.options.database}" and creating it failed (${response.status}: ${detail}): create it, or give the ingest user the right to`);
    }
    this.databasesCreated++;
  }

  async #post(lines: Buffer): Promise<void> {
    const headers = { ...this.#headers };
    let body = lines;
    if (lines.length > this.options.gzipThresholdBytes) {
      body = await gzip(lines, GZIP_OPTIONS);
      headers["content-encoding"] = "gzip";
    }
    let response: Response;
    try {
      response = await fetch(this.#writeUrl, { method: "POST", headers, body, signal: AbortSignal.timeout(this.options.timeoutMs) });
    } catch (error) {
      throw unavailableFrom(error, "InfluxDB /write");
    }
    if (response.status === 204) {
      await response.arrayBuffer().catch(() => undefined);
      return;
    }
    const detail = await errorText(response);
    if (response.status === 400 || response.status === 413 || response.status === 422) throw new LinesRefusedError(response.status, detail);
    if (response.status === 404) throw new StorageUnavailableError("no-database", `InfluxDB: ${detail}`);
    if (response.status === 401 || response.status === 403) throw new StorageUnavailableError("auth", `InfluxDB refused the credentials: ${detail}`);
    throw new StorageUnavailableError("status", `InfluxDB /write answered ${response.status}: ${detail}`);
  }

  async ping(): Promise<boolean> {
    if (this.#closed) return false;
    try {
      const response = await fetch(`${this.options.url.replace(/\/+$/, "")}/ping`, { signal: AbortSignal.timeout(this.options.timeoutMs) });
      await response.arrayBuffer().catch(() => undefined);
      return response.status === 204 || response.status === 200;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}

/** an InfluxQL identifier in double quotes (backslash and quote escaped) */
function quoteIdentifier(name: string): string {
  return `"${name.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

async function errorText(response: Response): Promise<string> {
  const text = await response.text().catch(() => "");
  try {
    const parsed = JSON.parse(text) as { error?: string; message?: string };
    return (parsed.error ?? parsed.message ?? text).slice(0, 300);
  } catch {
    return text.slice(0, 300);
  }
}
