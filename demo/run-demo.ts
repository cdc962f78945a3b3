// `vibewatch demo`: the whole chain on one machine. An embedded MQTT broker (aedes), a simulated
// fleet whose devices run the real firmware in XS, the gateway, the ingest service, and storage
// (a private InfluxDB when influxd is installed, the embedded store otherwise); or external
// services given by URL. Ends with the loss audit of what was stored.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import aedes from "aedes";

// aedes 0.51 is CommonJS (module.exports = Aedes, with Aedes.createBroker = Aedes): Node's ESM
// loader sees no named exports, and its typings call the default a non-constructable class.
/** the part of an aedes broker the demo uses */
interface AedesBroker {
  handle: (socket: Socket) => void;
  close: (done: () => void) => void;
}
const createBroker = (aedes as unknown as { createBroker: () => AedesBroker }).createBroker;
import { build } from "../cloud/app.js";
import { parseConfig } from "../cloud/config/load.js";
import { generateToken, hashToken } from "../cloud/auth/token-hash.js";
import { Gateway } from "../gateway/gateway.js";
import { createLogger } from "../gateway/logger.js";
import { validateConfig } from "../gateway/config/load-config.js";
import { Fleet, type DeviceSummary } from "../simulator/fleet.js";
import { auditSequences, bootKey, type AuditReport } from "../cloud/audit/sequence-audit.js";
import { readEmbeddedRows, readInfluxRows } from "../cloud/audit/audit-sources.js";
import { findInfluxd, freeLoopbackPort, startLocalInfluxd, type LocalInfluxd } from "./local-influxd.js";
import { DemoMonitor, percentile } from "./demo-monitor.js";

export interface DemoOptions {
  devices: number;
  /** ends by itself after this long; undefined: until stop() */
  durationS?: number;
  /** external broker instead of the embedded one */
  brokerUrl?: string;
  /** external InfluxDB 1.x (or 2.x with DBRP) instead of a private one */
  influxUrl?: string;
  influxDatabase?: string;
  /** force the embedded store even when influxd is installed */
  embedded?: boolean;
  site?: string;
  /** status heartbeat of the simulated devices, s */
  heartbeatS?: number;
  onStatus?: (status: DemoStatus) => void;
  statusEveryMs?: number;
  /** keep the working folder (buffer, store, logs) */
  keepData?: boolean;
}

export interface DemoStatus {
  elapsedS: number;
  devicesOnline: number;
  devices: number;
  messagesPerS: number;
  deviceBacklog: number;
  gatewayBuffered: number;
  stored: number;
  alerts: number;
  zones: Record<string, string>;
}

export interface DemoSummary {
  storage: string;
  devices: number;
  durationS: number;
  sentByDevices: number;
  leftInDeviceRings: number;
  droppedByDevices: number;
  stored: number;
  missing: number;
  duplicated: number;
  alerts: number;
  alertLatencyMs: { p50: number | null; p99: number | null; samples: number };
  zones: Record<string, string>;
  audit: AuditReport;
  dataDir: string;
}

const GATEWAY_ID = "gw-demo";

export class Demo {
  #stopRequested: (() => void) | undefined;
  readonly #stopped = new Promise<void>((resolve) => (this.#stopRequested = resolve));

  /** ends the run early (Ctrl-C); run() then shuts down and returns the summary */
  stop(): void {
    this.#stopRequested?.();
  }

  async run(options: DemoOptions): Promise<DemoSummary> {
    const site = options.site ?? "demo-site";
    const dataDir = mkdtempSync(join(tmpdir(), "vibewatch-demo-"));
    const cleanups: (() => Promise<void> | void)[] = [];
    const startedMs = Date.now();
    try {
      // 1. broker
      let brokerUrl = options.brokerUrl;
      if (!brokerUrl) {
        const broker = createBroker();
        const server: Server = createServer(broker.handle);
        const port = await freeLoopbackPort();
        await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
        cleanups.push(() => new Promise<void>((resolve) => broker.close(() => server.close(() => resolve()))));
        brokerUrl = `mqtt://127.0.0.1:${port}`;
      }

      // 2. storage
      let storageName = "embedded store";
      let influx: { url: string; database: string } | undefined;
      const influxd = options.embedded || options.influxUrl ? undefined : findInfluxd();
      if (options.influxUrl) {
        influx = { url: options.influxUrl, database: options.influxDatabase ?? "vibewatch" };
        storageName = `InfluxDB at ${influx.url}`;
      } else if (influxd) {
        const local: LocalInfluxd = await startLocalInfluxd(influxd, join(dataDir, "influxdb"));
        cleanups.unshift(() => local.stop());
        influx = { url: local.url, database: local.database };
        storageName = `private InfluxDB (${influxd})`;
      }
      const storePath = join(dataDir, "ingest.sqlite");
      const storage: Record<string, unknown> = influx ? { type: "influx-v1", url: influx.url, database: influx.database } : { type: "embedded", path: storePath };

      // 3. ingest
      const token = generateToken(GATEWAY_ID);
      const ingestPort = await freeLoopbackPort();
      const ingestConfig = parseConfig({
        listen: { host: "127.0.0.1", port: ingestPort },
        gateways: [{ id: GATEWAY_ID, tokenHash: await hashToken(token) }],
        storage,
        // one gateway on a laptop: no need to shield the service from it
        rateLimit: { maxBatches: 1_000_000, windowMs: 60_000 },
        log: { level: "warn" },
      });
      // the services log to stderr: stdout is the demo's status and summary (--json stays parseable)
      const ingest = await build({ config: ingestConfig, defaultMetrics: false, logStream: process.stderr });
      await ingest.listen({ host: "127.0.0.1", port: ingestPort });
      cleanups.unshift(() => ingest.close());

      // 4. gateway
      const gatewayConfig = validateConfig(
        {
          gatewayId: GATEWAY_ID,
          site,
          mqtt: { url: brokerUrl, sites: [site] },
          buffer: { path: join(dataDir, "gateway-buffer.db") },
          sink: { url: `http://127.0.0.1:${ingestPort}/v1/batches` },
          heartbeat: { intervalS: options.heartbeatS ?? 10, missed: 3 },
          http: { host: "127.0.0.1", port: 0 },
          logLevel: "warn",
          statusIntervalS: 10,
        },
        "demo",
      );
      const gateway = await Gateway.start(gatewayConfig, { token, processMetrics: false, log: createLogger("warn", process.stderr) });
      cleanups.unshift(() => gateway.stop());

      // 5. watchers and the fleet
      const monitor = await DemoMonitor.start(brokerUrl, site, GATEWAY_ID);
      cleanups.unshift(() => monitor.stop());
      const fleet = await Fleet.start({ devices: options.devices, brokerUrl, siteId: site, heartbeatS: options.heartbeatS ?? 10 });
      let fleetStopped = false;
      cleanups.unshift(async () => {
        if (!fleetStopped) await fleet.stop();
      });

      const storedCounter = ingest.ingest.metrics.recordsStored;
      let stored = 0;
      const refreshStored = async () => {
        const metric = await storedCounter.get();
        stored = metric.values.reduce((n, v) => n + v.value, 0);
      };
      const statusTimer = setInterval(() => {
        void Promise.all([fleet.snapshot(), refreshStored()]).then(([snapshot]) => {
          const m = monitor.snapshot();
          options.onStatus?.({
            elapsedS: Math.round((Date.now() - startedMs) / 1000),
            devicesOnline: snapshot.connected,
            devices: snapshot.devices,
            messagesPerS: snapshot.messagesPerS,
            deviceBacklog: snapshot.backlog,
            gatewayBuffered: gateway.buffer.stats().records,
            stored,
            alerts: m.deviceAlerts,
            zones: m.zones,
          });
        });
      }, options.statusEveryMs ?? 1000);
      cleanups.unshift(() => clearInterval(statusTimer));

      // 6. run
      const timers: NodeJS.Timeout[] = [];
      if (options.durationS !== undefined) timers.push(setTimeout(() => this.stop(), options.durationS * 1000));
      await this.#stopped;
      timers.forEach(clearTimeout);

      // 7. power the devices off, then let the gateway hand over everything it holds
      const devices: DeviceSummary[] = await fleet.summary();
      await fleet.stop();
      fleetStopped = true;
      await waitFor(() => gateway.buffer.stats().records === 0, 60_000);
      const durationS = Math.round((Date.now() - startedMs) / 1000);

      // 8. audit what was stored
      const rows = influx ? await readInfluxRows(influx) : readEmbeddedRows(storePath);
      const expectedLast = new Map<string, number>();
      for (const d of devices) {
        const created = d.telemetry + d.alerts + d.statuses;
        expectedLast.set(bootKey(d.device, d.bootId), created - 1 - d.backlog);
      }
      const audit = auditSequences(rows.rows, rows.drops, expectedLast);
      const m = monitor.snapshot();
      return {
        storage: storageName,
        devices: devices.length,
        durationS,
        sentByDevices: devices.reduce((n, d) => n + d.acknowledged, 0),
        leftInDeviceRings: devices.reduce((n, d) => n + d.backlog, 0),
        droppedByDevices: devices.reduce((n, d) => n + d.dropped, 0),
        stored: audit.totals.stored,
        missing: audit.totals.missing,
        duplicated: audit.totals.duplicated,
        alerts: m.deviceAlerts,
        alertLatencyMs: { p50: percentile(m.alertLatencyMs, 50), p99: percentile(m.alertLatencyMs, 99), samples: m.alertLatencyMs.length },
        zones: m.zones,
        audit,
        dataDir,
      };
    } finally {
      for (const cleanup of cleanups) await Promise.resolve(cleanup()).catch(() => undefined);
      if (!options.keepData) rmSync(dataDir, { recursive: true, force: true });
    }
  }
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return condition();
}
