// The fleet service's /metrics: counters of what it did, and gauges of the fleet read from the
// database at scrape time (devices online/offline and configuration drift per site).
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import type { FleetView } from "./fleet-view.js";

export class FleetMetrics {
  readonly registry = new Registry();
  readonly syncs: Counter<"site">;
  readonly reports: Counter<"site">;
  readonly configChanges: Counter<"scope">;
  readonly errors: Counter<"code">;

  constructor(view: FleetView, defaultMetrics = false) {
    const registers = [this.registry];
    this.syncs = new Counter({ name: "vw_fleet_syncs_total", help: "gateway syncs answered", labelNames: ["site"], registers });
    this.reports = new Counter({ name: "vw_fleet_reports_changed_total", help: "device reports that changed the inventory", labelNames: ["site"], registers });
    this.configChanges = new Counter({ name: "vw_fleet_config_changes_total", help: "desired-configuration changes stored", labelNames: ["scope"], registers });
    this.errors = new Counter({ name: "vw_fleet_errors_total", help: "error replies by code", labelNames: ["code"], registers });
    new Gauge({
      name: "vw_fleet_devices",
      help: "devices in the inventory, by site and state (online: reported within offlineAfterS)",
      labelNames: ["site", "state"],
      registers,
      async collect() {
        this.reset();
        for (const d of await view.devices()) this.inc({ site: d.site, state: d.online ? "online" : "offline" });
      },
    });
    new Gauge({
      name: "vw_fleet_config_drift",
      help: "devices whose reported config version differs from the desired one, by site",
      labelNames: ["site"],
      registers,
      async collect() {
        this.reset();
        for (const d of await view.devices()) this.inc({ site: d.site }, d.drift ? 1 : 0);
      },
    });
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }
}
