// The whole chain with real parts, for the fault suite and bench:e2e: real Mosquitto, real
// InfluxDB 1.x, the ingest service (in-process, restartable), the gateway as its own process
// (so it can be killed with SIGKILL), and a simulated fleet running the firmware in XS, whose
// network to the broker goes through a fault-injecting proxy.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, openSync, closeSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { build } from "../../../cloud/app.js";
import { parseConfig } from "../../../cloud/config/load.js";
import { generateToken, hashToken } from "../../../cloud/auth/token-hash.js";
import { Fleet, type DeviceSummary } from "../../../simulator/fleet.js";
import { auditSequences, bootKey, type AuditReport } from "../../../cloud/audit/sequence-audit.js";
import { readInfluxRows } from "../../../cloud/audit/audit-sources.js";
import { startInfluxDb, startMosquitto, freePort, type InfluxHandle, type MosquittoHandle } from "../../helpers/services.js";
import { cliArgs } from "../../helpers/run-cli.js";
import { FaultInjectingTcpProxy } from "./fault-injecting-tcp-proxy.js";

export const SITE = "e2e-site";
export const GATEWAY_ID = "gw-e2e";
export const DATABASE = "vibewatch";

export interface StackOptions {
  devices: number;
  heartbeatS?: number;
  /** gateway buffer budget, bytes */
  bufferMaxBytes?: number;
}

export class E2eStack {
  broker!: MosquittoHandle;
  influx!: InfluxHandle;
  proxy!: FaultInjectingTcpProxy;
  fleet!: Fleet;
  ingest: FastifyInstance | undefined;
  gateway: ChildProcess | undefined;
  readonly dir = mkdtempSync(join(tmpdir(), "vw-e2e-"));
  ingestPort = 0;
  gatewayHttpPort = 0;
  token = generateToken(GATEWAY_ID);
  gatewayStarts = 0;
  #tokenHash = "";
  #gatewayExited: Promise<void> = Promise.resolve();

  constructor(readonly options: StackOptions) {}

  async start(): Promise<void> {
    this.broker = await startMosquitto({ extraConfig: "max_inflight_messages 200\nmax_queued_messages 100000" });
    this.influx = await startInfluxDb();
    await this.influx.createDatabase(DATABASE);
    this.#tokenHash = await hashToken(this.token, "sha256");
    this.ingestPort = await freePort();
    this.gatewayHttpPort = await freePort();
    await this.startIngest();
    this.#writeGatewayConfig();
    await this.startGateway();
    this.proxy = await FaultInjectingTcpProxy.start("127.0.0.1", this.broker.port);
    this.fleet = await Fleet.start({ devices: this.options.devices, brokerUrl: this.proxy.url, siteId: SITE, heartbeatS: this.options.heartbeatS ?? 5 });
  }

  async startIngest(): Promise<void> {
    const config = parseConfig({
      listen: { host: "127.0.0.1", port: this.ingestPort },
      gateways: [{ id: GATEWAY_ID, tokenHash: this.#tokenHash }],
      storage: { type: "influx-v1", url: this.influx.url, database: DATABASE, timeoutMs: 3000 },
      writes: { retryAfterS: 1 },
      // the gateway drains a backlog as fast as it can: the per-gateway rate limit is not under test here
      rateLimit: { maxBatches: 1_000_000, windowMs: 60_000 },
      log: { level: "silent" },
    });
    this.ingest = await build({ config, defaultMetrics: false });
    await this.ingest.listen({ host: "127.0.0.1", port: this.ingestPort });
  }

  async stopIngest(): Promise<void> {
    await this.ingest?.close();
    this.ingest = undefined;
  }

  #writeGatewayConfig(): void {
    const config = {
      gatewayId: GATEWAY_ID,
      site: SITE,
      mqtt: { url: this.broker.url, sites: [SITE], reconnectMs: 500 },
      buffer: { path: join(this.dir, "gateway-buffer.db"), ...(this.options.bufferMaxBytes ? { maxBytes: this.options.bufferMaxBytes } : {}) },
      sink: { url: `http://127.0.0.1:${this.ingestPort}/v1/batches`, timeoutMs: 3000, backoffBaseMs: 100, backoffMaxMs: 2000, batchMaxAgeMs: 100 },
      heartbeat: { intervalS: this.options.heartbeatS ?? 5, missed: 3 },
      http: { host: "127.0.0.1", port: this.gatewayHttpPort },
      logLevel: "warn",
      statusIntervalS: 5,
    };
    writeFileSync(join(this.dir, "gateway.json"), JSON.stringify(config, null, 2));
  }

  async startGateway(): Promise<void> {
    const log = openSync(join(this.dir, "gateway.log"), "a");
    const child = spawn(process.execPath, cliArgs(["gateway", "--config", join(this.dir, "gateway.json")]), {
      stdio: ["ignore", log, log],
      env: { ...process.env, VW_GATEWAY_SINK_TOKEN: this.token },
    });
    closeSync(log);
    this.gateway = child;
    this.gatewayStarts++;
    this.#gatewayExited = new Promise((resolve) => child.once("exit", () => resolve()));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`gateway exited at start:\n${this.gatewayLog().slice(-2000)}`);
      const health = await this.gatewayHealth();
      if (health?.mqttConnected) return;
      await sleep(200);
    }
    throw new Error(`gateway not healthy within 60 s:\n${this.gatewayLog().slice(-2000)}`);
  }

  /** restarts the gateway (SIGTERM) with a new disk budget for its buffer */
  async restartGatewayWithBudget(bufferMaxBytes: number): Promise<void> {
    await this.stopGateway();
    this.options.bufferMaxBytes = bufferMaxBytes;
    this.#writeGatewayConfig();
    await this.startGateway();
  }

  /** kill -9: a power cut of the gateway */
  async killGateway(): Promise<void> {
    this.gateway?.kill("SIGKILL");
    await this.#gatewayExited;
    this.gateway = undefined;
  }

  async stopGateway(): Promise<void> {
    if (!this.gateway) return;
    this.gateway.kill("SIGTERM");
    const timer = setTimeout(() => this.gateway?.kill("SIGKILL"), 15_000);
    await this.#gatewayExited;
    clearTimeout(timer);
    this.gateway = undefined;
  }

  gatewayLog(): string {
    try {
      return readFileSync(join(this.dir, "gateway.log"), "utf8");
    } catch {
      return "";
    }
  }

  async gatewayHealth(): Promise<{ ok: boolean; mqttConnected: boolean; bufferRecords: number } | undefined> {
    try {
      const response = await fetch(`http://127.0.0.1:${this.gatewayHttpPort}/healthz`, { signal: AbortSignal.timeout(2000) });
      return (await response.json()) as { ok: boolean; mqttConnected: boolean; bufferRecords: number };
    } catch {
      return undefined;
    }
  }

  /** a counter from the gateway's /metrics, summed over its labels (filtered by a label substring) */
  async gatewayMetric(name: string, labelFilter = ""): Promise<number> {
    const response = await fetch(`http://127.0.0.1:${this.gatewayHttpPort}/metrics`, { signal: AbortSignal.timeout(2000) });
    const text = await response.text();
    let total = 0;
    for (const line of text.split("\n")) {
      if (!line.startsWith(name) || line.startsWith("#")) continue;
      if (labelFilter && !line.includes(labelFilter)) continue;
      const rest = line.slice(name.length);
      if (rest[0] !== " " && rest[0] !== "{") continue;
      total += Number(line.split(" ").pop());
    }
    return total;
  }

  /**
   * Waits until every message the devices had created by now is in InfluxDB, and returns the
   * audit. The fleet keeps publishing meanwhile, so "everything drained" is never a quiet moment:
   * instead, take each device's count of messages so far once all are connected again, and poll
   * the audit until each boot's sequence numbers up to that point are all stored (or time runs out:
   * then the returned audit shows what is missing).
   */
  async waitForDelivery(timeoutMs = 180_000): Promise<AuditReport> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const snapshot = await this.fleet.snapshot();
      if (snapshot.connected === snapshot.devices) break;
      await sleep(500);
    }
    const devices = await this.fleet.summary();
    const expectedLast = new Map<string, number>();
    for (const d of devices) expectedLast.set(bootKey(d.device, d.bootId), d.telemetry + d.alerts + d.statuses - 1);
    let report = await this.#auditWith(expectedLast);
    while (report.totals.missing > 0 && Date.now() < deadline) {
      await sleep(1000);
      report = await this.#auditWith(expectedLast);
    }
    return report;
  }

  async #auditWith(expectedLast: Map<string, number>): Promise<AuditReport> {
    const rows = await readInfluxRows({ url: this.influx.url, database: DATABASE });
    return auditSequences(rows.rows, rows.drops, expectedLast);
  }

  /** audit of InfluxDB; with `devices` (taken after the fleet stopped) the tails count too */
  async audit(devices?: DeviceSummary[]): Promise<AuditReport> {
    const expectedLast = new Map<string, number>();
    for (const d of devices ?? []) expectedLast.set(bootKey(d.device, d.bootId), d.telemetry + d.alerts + d.statuses - 1 - d.backlog);
    return this.#auditWith(expectedLast);
  }

  async dispose(): Promise<void> {
    await this.fleet?.stop().catch(() => undefined);
    await this.stopGateway().catch(() => undefined);
    await this.stopIngest().catch(() => undefined);
    await this.proxy?.close().catch(() => undefined);
    await this.influx?.dispose();
    await this.broker?.dispose();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
