// InfluxDB v2 write API through @influxdata/influxdb-client (InfluxDB 2.x, 3.x, 1.8+ and servers
// speaking /api/v2/write): URL, token, org, bucket, precision "us".
//
// One short-lived WriteApi per write() (the client's WriteApi buffers and retries on its own; a
// shared one would mix the outcomes of concurrent requests): no client-side retries (the gateway
// retries on our 503), no background flush, errors surfaced through writeFailed. Statuses: 204
// stored; 400/413/422 -> bisected to the records concerned; anything else, network errors and
// timeouts -> StorageUnavailableError.
import { HttpError, InfluxDB, RequestTimedOutError, type WriteApi } from "@influxdata/influxdb-client";
import type { StoredRecord } from "./point-schema.js";
import { formatAndSend, LinesRefusedError, StorageUnavailableError, unavailableFrom, type Writer, type WriteResult } from "./writer.js";

export interface InfluxV2WriterOptions {
  url: string;
  token: string;
  org: string;
  bucket: string;
  timeoutMs: number;
  gzipThresholdBytes: number;
  maxLinesPerWrite: number;
}

export class InfluxV2Writer implements Writer {
  readonly kind = "influx-v2";
  readonly #client: InfluxDB;
  #closed = false;

  constructor(readonly options: InfluxV2WriterOptions) {
    this.#client = new InfluxDB({ url: options.url, token: options.token, timeout: options.timeoutMs });
  }

  // not async: the records are formatted before this returns, and the pending write holds only
  // the lines and ids (see formatAndSend)
  write(records: StoredRecord[]): Promise<WriteResult> {
    if (this.#closed) return Promise.reject(new StorageUnavailableError("closed", "writer is closed"));
    if (records.length === 0) return Promise.resolve({ rejected: [] });
    try {
      return formatAndSend(records, this.options.maxLinesPerWrite, (body) => this.#send(body));
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  async #send(body: Buffer): Promise<void> {
    // the client joins records with newlines: hand it the formatted block as one record
    const text = body.toString("utf8", 0, body.length - 1);
    const api: WriteApi = this.#client.getWriteApi(this.options.org, this.options.bucket, "us", {
      batchSize: 2,
      flushInterval: 0,
      maxRetries: 0,
      maxBufferLines: 2,
      gzipThreshold: this.options.gzipThresholdBytes,
      // a rejected promise becomes the result of flush(): the error reaches us, not the console
      writeFailed: (error) => Promise.reject(error),
    });
    try {
      api.writeRecord(text);
      await api.flush();
    } catch (error) {
      throw classifyV2Error(error, this.options);
    } finally {
      api.dispose();
    }
  }

  async ping(): Promise<boolean> {
    if (this.#closed) return false;
    const base = this.options.url.replace(/\/+$/, "");
    for (const path of ["/ping", "/health"]) {
      try {
        const response = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(this.options.timeoutMs) });
        await response.arrayBuffer().catch(() => undefined);
        if (response.status === 204 || response.status === 200) return true;
      } catch {
        return false;
      }
    }
    return false;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}

/** a failed v2 write as the writer reports it; `where` names the org and bucket in a missing-bucket error */
export function classifyV2Error(error: unknown, where: { org: string; bucket: string }): Error {
  if (error instanceof HttpError) {
    const detail = (error.body ?? error.message).slice(0, 300);
    if (error.statusCode === 400 || error.statusCode === 413 || error.statusCode === 422) return new LinesRefusedError(error.statusCode, detail);
    if (error.statusCode === 401 || error.statusCode === 403) return new StorageUnavailableError("auth", `InfluxDB refused the token: ${detail}`);
    // the v2 API does not create buckets on write (and the service does not either: a bucket is
    // the platform's decision, with its retention): say which one is missing and how to make it
    if (error.statusCode === 404) {
      return new StorageUnavailableError("no-database", `InfluxDB has no bucket "${where.bucket}" in org "${where.org}": create it (influx bucket create --name ${where.bucket} --org ${where.org}) (${detail})`);
    }
    return new StorageUnavailableError("status", `InfluxDB /api/v2/write answered ${error.statusCode}: ${detail}`);
  }
  if (error instanceof RequestTimedOutError) return new StorageUnavailableError("timeout", "InfluxDB /api/v2/write timed out");
  return unavailableFrom(error, "InfluxDB /api/v2/write");
}
