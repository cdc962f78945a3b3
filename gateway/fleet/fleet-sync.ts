// The site's link to the fleet service (issue 16): every syncIntervalMs the gateway posts what its
// devices last reported (their retained status: version, slot, config in force, errors, OTA state)
// and gets back the configuration each device of its site should run, which it publishes retained
// on vw/v1/{site}/{device}/cfg (QoS 1). Retained, so a device that is offline now gets its config
// from the broker when it returns, and a gateway restart loses nothing: the broker holds the configs,
// the devices hold their statuses, and the next sync re-sends a snapshot.
// A config is published only when it differs from the one this process last published for that
// device (after a restart: once, again, which the device ignores for the same cv). The fleet
// service down: the sync fails, is counted, and is tried again next interval; nothing else waits.
// Devices tracked are bounded (maxDevices, as the intake): reports beyond it are counted, not kept.
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import type { Logger } from "pino";
import { Counter, Gauge, type Registry } from "prom-client";
import { deviceFilter, deviceTopic, parseDeviceTopic } from "../../protocol/topics.js";
import { cborEncoder, decodeDeviceMessage } from "../../protocol/schema/validate.js";
import type { DeviceConfig } from "../../protocol/messages.js";
import type { DeviceReport } from "../../cloud/fleet/storage/fleet-repository.js";
import { FleetClient } from "../../cloud/fleet/fleet-client.js";

export interface FleetSyncOptions {
  site: string;
  fleetUrl: string;
  token: string;
  syncIntervalMs: number;
  maxDevices: number;
  mqttUrl: string;
  clientId: string;
  mqtt?: Pick<IClientOptions, "username" | "password" | "ca" | "cert" | "key" | "reconnectPeriod">;
  registry: Registry;
  log: Logger;
  /**
   * offers a release (fetched from url) to devices of this site: the gateway's OTA distributor
   * (gateway/ota/); undefined where OTA is off, and a rollout's offers are then counted, not made
   */
  offer?: (url: string, devices: string[]) => Promise<void>;
}

export class FleetSync {
  readonly #options: FleetSyncOptions;
  readonly #client: MqttClient;
  readonly #fleet: FleetClient;
  readonly #reports = new Map<string, DeviceReport>();
  readonly #published = new Map<string, string>();
  /** device -> the release version this process last offered it */
  readonly #offered = new Map<string, string>();
  /** device -> anomaly scores of its telemetry since the last sync (sum, count) */
  readonly #anomaly = new Map<string, { sum: number; count: number }>();
  readonly #offersMade: Counter<"outcome">;
  #timer: NodeJS.Timeout | undefined;
  #syncing: Promise<void> | undefined;
  #stopped = false;
  readonly #syncs: Counter<"outcome">;
  readonly #configsPublished: Counter;
  readonly #reportsDropped: Counter;
  readonly #lastSyncOk: Gauge;

  constructor(options: FleetSyncOptions) {
    this.#options = options;
    this.#fleet = new FleetClient(options.fleetUrl, options.token);
    const registers = [options.registry];
    this.#syncs = new Counter({ name: "vw_gateway_fleet_syncs_total", help: "syncs with the fleet service, by outcome (ok, failed)", labelNames: ["outcome"], registers });
    this.#configsPublished = new Counter({ name: "vw_gateway_fleet_configs_published_total", help: "desired configs published retained on …/cfg", registers });
    this.#reportsDropped = new Counter({ name: "vw_gateway_fleet_reports_dropped_total", help: "device statuses not tracked for the fleet: the device cap (limits.maxDevices) was reached", registers });
    this.#offersMade = new Counter({ name: "vw_gateway_fleet_offers_total", help: "rollout offers from the fleet service, by outcome (offered, failed, no_ota: OTA is off here)", labelNames: ["outcome"], registers });
    this.#lastSyncOk = new Gauge({ name: "vw_gateway_fleet_last_sync_ok_timestamp_seconds", help: "when the last sync succeeded (0: never)", registers });
    this.#client = mqtt.connect(options.mqttUrl, {
      clientId: options.clientId,
      clean: true,
      protocolVersion: 5,
      reconnectPeriod: options.mqtt?.reconnectPeriod ?? 1000,
      connectTimeout: 10_000,
      ...options.mqtt,
    });
    // statuses are retained: every (re)connection learns each device's latest one (telemetry's
    // anomaly scores come from the intake, which decodes every message anyway: observeTelemetry)
    this.#client.on("connect", () => this.#client.subscribe(deviceFilter("status", options.site), { qos: 1 }));
    this.#client.on("message", (topic, payload) => this.#onStatus(topic, payload));
    this.#client.on("error", (error) => options.log.warn({ err: error }, "fleet sync mqtt error"));
  }

  start(): void {
    this.#timer = setInterval(() => void this.syncNow(), this.#options.syncIntervalMs);
    void this.syncNow();
  }

  /** the latest report of each device (for tests and /healthz) */
  get reports(): ReadonlyMap<string, DeviceReport> {
    return this.#reports;
  }

  /** a committed telemetry message's anomaly score (centi; null while the device learns), from the intake */
  observeTelemetry(device: string, anomalyCenti: number | null): void {
    const report = this.#reports.get(device);
    if (!report) return;
    // telemetry is hearing from the device too: the report is newer (the fleet keeps the newest)
    report.seenMs = Date.now();
    if (anomalyCenti === null) return;
    const entry = this.#anomaly.get(device) ?? { sum: 0, count: 0 };
    entry.sum += anomalyCenti / 100;
    entry.count++;
    this.#anomaly.set(device, entry);
  }

  #onStatus(topic: string, payload: Buffer): void {
    const parsed = parseDeviceTopic(topic);
    if (!parsed || parsed.kind !== "status" || payload.length === 0) return;
    let message;
    try {
      message = decodeDeviceMessage("status", payload, parsed.device);
    } catch {
      return; // the intake quarantines and counts bad statuses; the fleet only wants good ones
    }
    if (!this.#reports.has(parsed.device) && this.#reports.size >= this.#options.maxDevices) {
      this.#reportsDropped.inc();
      return;
    }
    const seenMs = Date.now();
    if (message.kind === "will") {
      const previous = this.#reports.get(parsed.device);
      this.#reports.set(parsed.device, { ...previous, device: parsed.device, seenMs, online: false });
      return;
    }
    if (message.kind !== "status") return;
    const s = message.payload;
    const report: DeviceReport = { device: parsed.device, seenMs, online: s.o, fw: s.fw, boot: s.b, seq: s.s, cfgVersion: s.cv, rssiDbm: s.rs, memFree: s.mem, overruns: s.ov };
    if (s.er !== undefined) report.lastError = s.er;
    if (s.sl !== undefined) report.slot = s.sl;
    if (s.os !== undefined) report.otaState = s.os;
    if (s.ot !== undefined) report.otaTarget = s.ot;
    if (s.oe !== undefined) report.otaError = s.oe;
    this.#reports.set(parsed.device, report);
  }

  /** One sync now (also what the timer runs); concurrent calls share one sync. */
  syncNow(): Promise<void> {
    this.#syncing ??= this.#sync().finally(() => (this.#syncing = undefined));
    return this.#syncing;
  }

  async #sync(): Promise<void> {
    if (this.#stopped) return;
    let configs: { device: string; config: DeviceConfig }[];
    let offers: { device: string; version: string; url: string }[];
    // each report carries the mean anomaly score of the telemetry since the last sync that went through
    const anomaly = new Map(this.#anomaly);
    const reports = [...this.#reports.values()].map((r) => {
      const a = anomaly.get(r.device);
      return a && a.count > 0 ? { ...r, anomalyMean: a.sum / a.count } : r;
    });
    try {
      ({ configs, offers = [] } = await this.#fleet.sync({ site: this.#options.site, reports }));
    } catch (error) {
      this.#syncs.inc({ outcome: "failed" });
      this.#options.log.warn({ err: (error as Error).message }, "fleet sync failed: retrying next interval");
      return;
    }
    this.#syncs.inc({ outcome: "ok" });
    this.#lastSyncOk.set(Date.now() / 1000);
    for (const device of anomaly.keys()) this.#anomaly.delete(device);
    await this.#offer(offers);
    if (!this.#client.connected) return; // published next sync, once the broker is back
    for (const { device, config } of configs) {
      const key = JSON.stringify(config);
      if (this.#published.get(device) === key) continue;
      try {
        await this.#client.publishAsync(deviceTopic(this.#options.site, device, "cfg"), cborEncoder.encode(config) as Buffer, { qos: 1, retain: true });
        this.#published.set(device, key);
        this.#configsPublished.inc();
        this.#options.log.info({ device, cv: config.cv }, "desired config published");
      } catch (error) {
        this.#options.log.warn({ device, err: (error as Error).message }, "desired config not published: next sync");
        return;
      }
    }
  }

  /** Makes the rollout's offers this process has not made yet, one release fetch per version. */
  async #offer(offers: readonly { device: string; version: string; url: string }[]): Promise<void> {
    const byUrl = new Map<string, string[]>();
    for (const o of offers) {
      if (this.#offered.get(o.device) === o.version) continue;
      byUrl.set(o.url, [...(byUrl.get(o.url) ?? []), o.device]);
    }
    for (const [url, devices] of byUrl) {
      if (!this.#options.offer) {
        this.#offersMade.inc({ outcome: "no_ota" }, devices.length);
        this.#options.log.warn({ url, devices: devices.length }, "the fleet asks for OTA offers but OTA is off here (ota.releasePublicKeyFile unset)");
        continue;
      }
      try {
        await this.#options.offer(url, devices);
        const version = offers.find((o) => o.url === url)?.version as string;
        for (const device of devices) this.#offered.set(device, version);
        this.#offersMade.inc({ outcome: "offered" }, devices.length);
      } catch (error) {
        this.#offersMade.inc({ outcome: "failed" }, devices.length);
        this.#options.log.warn({ url, err: (error as Error).message }, "rollout offer failed: tried again next sync");
      }
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#syncing;
    await this.#client.endAsync();
  }
}
