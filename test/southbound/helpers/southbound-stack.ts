// The chain the southbound tests run on, all real: Mosquitto (the gateway's device intake and the
// JSON-over-MQTT sources), InfluxDB 1.x behind the real ingest service (cloud/app.ts with the
// InfluxDB v1 writer), and the gateway in this process with the sources under test. Peers (Modbus
// and OPC UA servers) are started by the tests with the helpers beside this file.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import pino, { type Logger } from "pino";
import { build } from "../../../cloud/app.js";
import { InfluxV1Writer } from "../../../cloud/storage/influx-v1-writer.js";
import { Gateway } from "../../../gateway/gateway.js";
import { validateConfig } from "../../../gateway/config/load-config.js";
import { makeTokens, testConfig as ingestConfig, GW, SITE } from "../../cloud/helpers/ingest-fixture.js";
import { startInfluxDb, startMosquitto, type InfluxHandle, type MosquittoHandle } from "../../helpers/services.js";
import { auditSources, readInfluxSourceRows, type SourceAuditReport } from "../../../cloud/audit/source-audit.js";

export { GW, SITE };
export const DATABASE = "vibewatch";

export class SouthboundStack {
  broker!: MosquittoHandle;
  influx!: InfluxHandle;
  ingest!: FastifyInstance;
  writer!: InfluxV1Writer;
  gateway: Gateway | undefined;
  token = "";
  sinkUrl = "";
  bufferPath: string | undefined;
  readonly dir = mkdtempSync(join(tmpdir(), "vw-southbound-"));

  async start(): Promise<void> {
    this.broker = await startMosquitto({ extraConfig: "max_inflight_messages 1000\nmax_queued_messages 100000" });
    this.influx = await startInfluxDb();
    await this.influx.createDatabase(DATABASE);
    const tokens = await makeTokens();
    this.token = tokens.token;
    this.writer = new InfluxV1Writer({ url: this.influx.url, database: DATABASE, timeoutMs: 5000, gzipThresholdBytes: 65536, maxLinesPerWrite: 5000 });
    this.ingest = await build({ config: ingestConfig(tokens, { rateLimit: { maxBatches: 1_000_000, windowMs: 60_000 } }), writer: this.writer });
    await this.ingest.listen({ port: 0, host: "127.0.0.1" });
    this.sinkUrl = `http://127.0.0.1:${(this.ingest.server.address() as AddressInfo).port}/v1/batches`;
  }

  /** A gateway with these sources (and any other config overrides), started against the stack. */
  async startGateway(sources: unknown[], overrides: Record<string, unknown> = {}, log?: Logger): Promise<Gateway> {
    const config = validateConfig(
      {
        gatewayId: GW,
        site: SITE,
        logLevel: process.env.VW_TEST_LOG ?? "silent",
        mqtt: { url: this.broker.url, clientId: "vw-gw-southbound", sites: [SITE], reconnectMs: 200, reconnectMaxMs: 1000 },
        buffer: { path: this.bufferPath ?? join(this.dir, `buffer-${Date.now()}.db`) },
        sink: { url: this.sinkUrl, batchMaxAgeMs: 50, timeoutMs: 5000, backoffBaseMs: 50, backoffMaxMs: 1000 },
        http: { port: 0 },
        sources,
        ...overrides,
      },
      "southbound test config",
    );
    // a restarted gateway keeps its buffer file, as it would on a site
    this.bufferPath = config.buffer.path;
    this.gateway = await Gateway.start(config, { token: this.token, log: log ?? pino({ level: config.logLevel }), processMetrics: false });
    return this.gateway;
  }

  async metricsText(): Promise<string> {
    // a fresh connection each time: a kept-alive one can meet the server's idle close (ECONNRESET)
    const response = await fetch(`http://127.0.0.1:${this.gateway!.httpPort}/metrics`, { keepalive: false, headers: { connection: "close" } }).catch(
      async () => await fetch(`http://127.0.0.1:${this.gateway!.httpPort}/metrics`),
    );
    return await response.text();
  }

  /** A counter's value from the gateway's /metrics (the Prometheus text a scraper sees). */
  async metric(name: string, labels: Record<string, string>): Promise<number> {
    const text = await this.metricsText();
    const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
    let total = 0;
    for (const line of text.split("\n")) {
      if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
      if (wanted.every((label) => line.includes(label))) total += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
    return total;
  }

  async audit(): Promise<SourceAuditReport> {
    return auditSources(await readInfluxSourceRows({ url: this.influx.url, database: DATABASE }));
  }

  async stop(): Promise<void> {
    await this.gateway?.stop();
    await this.ingest?.close();
    await this.writer?.close();
    await this.influx?.dispose();
    await this.broker?.dispose();
  }
}

export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
