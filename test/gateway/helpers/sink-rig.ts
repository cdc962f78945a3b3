// The sink tests' rig: the REAL ingest service (cloud/app.ts build(), listening on a socket, with the
// writer the test gives it: the embedded store or the real InfluxDB), the real gateway buffer
// (SqliteBuffer in a temporary file) and the real sink (HttpSink + HttpPoster), with a short
// backoff so that many retry rounds fit in a test. Records are made the way the intake makes them:
// device messages that passed the gateway's own validation (classifyMessage).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import pino, { type Logger } from "pino";
import type { FastifyInstance } from "fastify";
import { build } from "../../../cloud/app.js";
import type { Writer } from "../../../cloud/storage/writer.js";
import { SqliteBuffer, type SqliteBufferOptions } from "../../../gateway/buffer/sqlite-buffer.js";
import type { NewRecord } from "../../../gateway/buffer/record-buffer.js";
import { GatewayMetrics } from "../../../gateway/metrics.js";
import { HttpPoster } from "../../../gateway/sinks/http-post.js";
import { HttpSink, type HttpSinkOptions } from "../../../gateway/sinks/http-sink.js";
import { classifyMessage } from "../../../gateway/validation/classify-message.js";
import { deviceTopic } from "../../../protocol/topics.js";
import { GW, makeTokens, SITE, testConfig as ingestConfig, type Tokens } from "../../cloud/helpers/ingest-fixture.js";
import { alert, encode, telemetry } from "./device-publisher.js";

export { GW, SITE };

export interface RealIngest {
  app: FastifyInstance;
  url: string;
  tokens: Tokens;
  close(): Promise<void>;
}

/** The real ingest service on a free port; its per-gateway rate limit raised for the retry storms. */
export async function startRealIngest(writer: Writer): Promise<RealIngest> {
  const tokens = await makeTokens();
  const app = await build({ config: ingestConfig(tokens, { rateLimit: { maxBatches: 1_000_000, windowMs: 60_000 } }), writer });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const port = (app.server.address() as AddressInfo).port;
  return { app, url: `http://127.0.0.1:${port}/v1/batches`, tokens, close: async () => await app.close() };
}

/** Device records exactly as the intake stores them: encoded, then through the gateway's validation. */
export function validatedRecords(device: string, kind: "tele" | "alert", boot: number, fromSeq: number, count: number): NewRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const seq = fromSeq + i;
    const payload = encode(kind === "tele" ? telemetry(device, boot, seq) : alert(device, boot, seq));
    const classified = classifyMessage(deviceTopic(SITE, device, kind), payload);
    if (!classified.ok) throw new Error(`test record refused by the gateway's validation: ${classified.entry.reason}`);
    return classified.record;
  });
}

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A pino logger whose JSON lines the test can read (the sink's events are log lines). */
export function capturingLogger(): { log: Logger; logs: LogLine[] } {
  const logs: LogLine[] = [];
  const log = pino(
    { level: "info" },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString("utf8").split("\n")) if (line) logs.push(JSON.parse(line) as LogLine);
        done();
      },
    }),
  );
  return { log, logs };
}

export interface SinkRig {
  buffer: SqliteBuffer;
  sink: HttpSink;
  metrics: GatewayMetrics;
  logs: LogLine[];
  close(): Promise<void>;
}

/** The real buffer and sink, pointed at `url` (the real service, or a fault-injecting proxy before it). */
export function startSinkRig(options: { url: string; token: string; sink?: Partial<HttpSinkOptions>; buffer?: Partial<SqliteBufferOptions> }): SinkRig {
  const dir = mkdtempSync(join(tmpdir(), "vw-gw-sink-"));
  const buffer = new SqliteBuffer({ path: join(dir, "buffer.db"), maxBytes: 1e9, maxAgeS: 1e6, ...options.buffer });
  const metrics = new GatewayMetrics(false);
  const { log, logs } = capturingLogger();
  const poster = new HttpPoster({ url: options.url, token: options.token, timeoutMs: 5000, gzipMinBytes: 4096, maxInFlight: 4 });
  const sink = new HttpSink(
    buffer,
    poster,
    { gateway: GW, site: SITE, batchMaxRecords: 100, batchMaxBytes: 1e9, batchMaxAgeMs: 10, maxInFlight: 4, backoffBaseMs: 5, backoffMaxMs: 50, ...options.sink },
    metrics,
    log,
  );
  return {
    buffer,
    sink,
    metrics,
    logs,
    close: async () => {
      await sink.close(500);
      buffer.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
