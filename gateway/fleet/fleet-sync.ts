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
}

export class FleetSync {
  readonly #options: FleetSyncOptions;
  readonly #client: MqttClient;
  readonly #fleet: FleetClient;
  readonly #reports = new Map<string, DeviceReport>();
  readonly #published = new Map<string, string>();
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
    this.#lastSyncOk = new Gauge({ name: "vw_gateway_fleet_last_sync_ok_timestamp_seconds", help: "when the last sync succeeded (0: never)", registers });
    this.#client = mqtt.connect(options.mqttUrl, {
      clientId: options.clientId,
      clean: true,
      protocolVersion: 5,
      reconnectPeriod: options.mqtt?.reconnectPeriod ?? 1000,
      connectTimeout: 10_000,
      ...options.mqtt,
    });
    // statuses are retained: every (re)connection learns each device's latest one
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
    const report: DeviceReport = { device: parsed.device, seenMs, online: s.o, fw: s.fw, boot: s.b, seq: s.s, cfgVersion: s.cv, rssiDbm: s.rs, memFree: s.mem };
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
    try {
      ({ configs } = await this.#fleet.sync({ site: this.#options.site, reports: [...this.#reports.values()] }));
    } catch (error) {
      this.#syncs.inc({ outcome: "failed" });
      this.#options.log.warn({ err: (error as Error).message }, "fleet sync failed: retrying next interval");
      return;
    }
    this.#syncs.inc({ outcome: "ok" });
    this.#lastSyncOk.set(Date.now() / 1000);
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

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#syncing;
    await this.#client.endAsync();
  }
}
