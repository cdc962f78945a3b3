// `vibewatch fleet`: the fleet service (`--config F`) and the commands that talk to it
// (devices, config set/unset, label). Clients read the service's URL from --url or VW_FLEET_URL and
// the operator token from --token-file or VW_FLEET_TOKEN (never from argv: it would show in ps).
import { readFileSync } from "node:fs";
import type { Command } from "../command.js";
import { parseCommandArgs, UsageError } from "../command.js";
import { StopSignals } from "../stop-signals.js";
import { buildFleetApp } from "../../cloud/fleet/app.js";
import { FleetConfigError, loadFleetConfig } from "../../cloud/fleet/load-config.js";
import { FleetApiError, FleetClient } from "../../cloud/fleet/fleet-client.js";
import { ConfigInputError, checkFields, parseAssignments, SETTABLE_KEYS } from "../../cloud/fleet/config-input.js";
import type { DeviceView } from "../../cloud/fleet/fleet-view.js";
import type { RolloutSummary } from "../../cloud/fleet/fleet-client.js";
import { readReleaseParts } from "../../gateway/ota/release-files.js";

const DEFAULT_URL = "http://127.0.0.1:8490";

const help = `Usage: vibewatch fleet --config <file>                      run the fleet service
       vibewatch fleet devices [--site S] [--json]              list the fleet
       vibewatch fleet config set --site S [--device D] key=value…
       vibewatch fleet config set --group G key=value…
       vibewatch fleet config unset --site S [--device D] | --group G
       vibewatch fleet label --site S --device D group[,group…]
       vibewatch fleet release publish DIR                      a signed release (vibewatch release sign)
       vibewatch fleet releases
       vibewatch fleet rollout start --release V --site S|--group G [--waves 1,5,25,100]
                                     [--soak 30m] [--deadline 2h] [--no-rollback]
       vibewatch fleet rollout status [ID] [--json]
       vibewatch fleet rollout pause|resume|abort ID

The fleet service keeps the inventory (what each device reports through its site gateway) and the
desired configuration per site, group (device labels) or device, and hands each gateway its site's
configs (retained on …/cfg, so a device that is offline gets its config when it returns).
A config is checked against the device's own rules before anything is stored or sent.
A rollout updates its target in waves (cumulative percentages); the last wave's devices are the
control cohort, and a wave advances only when, over the soak, it is as healthy as the control
(no rollbacks; FIFO overruns, reboots, status errors and anomaly-score shift no worse); otherwise it
halts, says why, and (unless --no-rollback) offers the wave its previous version again.
Settable keys: ${SETTABLE_KEYS.join(", ")} (protocol/README.md).

Options:
  --config <file>       service config (cloud/fleet/sample-config.yaml); VW_FLEET_STORAGE_URL
                        overrides the PostgreSQL URL
  --url <url>           the fleet service (default VW_FLEET_URL or ${DEFAULT_URL})
  --token-file <file>   operator token (default: VW_FLEET_TOKEN)
  --site, --device, --group, --json
  -h, --help            this text`;

function client(values: { url?: string; "token-file"?: string }): FleetClient {
  const url = values.url ?? process.env.VW_FLEET_URL ?? DEFAULT_URL;
  const token = values["token-file"] !== undefined ? readFileSync(values["token-file"], "utf8").trim() : process.env.VW_FLEET_TOKEN;
  if (!token) throw new UsageError("no operator token: give --token-file or set VW_FLEET_TOKEN");
  return new FleetClient(url, token);
}

function table(devices: DeviceView[]): string {
  const rows = devices.map((d) => [
    d.site, d.device, d.online ? "online" : "offline", d.fw ?? "-", d.slot === undefined ? "-" : String(d.slot),
    d.cfgVersion === undefined ? "-" : String(d.cfgVersion), d.cfgDesired === null ? "-" : String(d.cfgDesired), d.drift ? "drift" : "",
    d.seenMs === undefined ? "never" : new Date(d.seenMs).toISOString(), d.lastError ?? "",
  ]);
  const head = ["SITE", "DEVICE", "STATE", "FW", "SLOT", "CFG", "DESIRED", "", "LAST SEEN", "LAST ERROR"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  return [head, ...rows].map((r) => r.map((cell, i) => cell.padEnd(widths[i] as number)).join("  ").trimEnd()).join("\n");
}

async function serve(configPath: string | undefined): Promise<number> {
  let config;
  try {
    config = loadFleetConfig(configPath);
  } catch (error) {
    if (error instanceof FleetConfigError) {
      console.error(`vibewatch fleet: ${error.message}`);
      return 2;
    }
    throw error;
  }
  const signals = new StopSignals();
  const app = await buildFleetApp({ config, defaultMetrics: true });
  await app.listen({ host: config.listen.host, port: config.listen.port });
  const signal = await signals.next();
  app.log.info({ signal }, "shutting down");
  return await app.close().then(() => 0, () => 1);
}

/** "30m", "2h", "45s", "500ms" -> ms */
export function durationMs(name: string, text: string | undefined, fallbackMs: number): number {
  if (text === undefined) return fallbackMs;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text);
  if (!match) throw new UsageError(`--${name} wants a duration like 30m, 2h, 45s; got "${text}"`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as "ms" | "s" | "m" | "h" | "d"];
  return Math.round(Number(match[1]) * unit);
}

type RolloutValues = Parameters<typeof client>[0] & { release?: string; site?: string; group?: string; waves?: string; soak?: string; deadline?: string; "no-rollback"?: boolean; json?: boolean };

function describeRollout(r: RolloutSummary): string {
  const counts = Object.entries(r.devices).filter(([, n]) => n > 0).map(([state, n]) => `${state} ${n}`).join(", ");
  return `${r.id}  release ${r.release}  ${r.status}  wave ${r.wave}/${r.waves.length} (${r.phase})  ${counts}${r.reason ? `\n  ${r.reason}` : ""}`;
}

async function rollout(values: RolloutValues, sub: string | undefined, rest: string[]): Promise<number> {
  const api = client(values);
  if (sub === "start") {
    if (!values.release) throw new UsageError("rollout start needs --release V");
    const waves = (values.waves ?? "1,5,25,100").split(",").map(Number);
    const summary = await api.startRollout({
      release: values.release,
      waves,
      soakMs: durationMs("soak", values.soak, 30 * 60_000),
      installDeadlineMs: durationMs("deadline", values.deadline, 2 * 3_600_000),
      rollbackOnBreach: !values["no-rollback"],
      ...(values.site ? { site: values.site } : {}),
      ...(values.group ? { group: values.group } : {}),
    });
    console.log(describeRollout(summary));
    return 0;
  }
  if (sub === "status") {
    const id = rest[0];
    if (id !== undefined) {
      const detail = await api.rollout(id);
      console.log(values.json ? JSON.stringify(detail, null, 2) : describeRollout(detail));
      return 0;
    }
    const { rollouts } = await api.rollouts();
    console.log(values.json ? JSON.stringify(rollouts, null, 2) : rollouts.map(describeRollout).join("\n"));
    return 0;
  }
  if (sub === "pause" || sub === "resume" || sub === "abort") {
    const id = rest[0];
    if (id === undefined) throw new UsageError(`rollout ${sub} needs the rollout id`);
    console.log(describeRollout(await api.rolloutAction(id, sub)));
    return 0;
  }
  throw new UsageError(`unknown rollout command "${sub ?? ""}" (start, status, pause, resume, abort)`);
}

export const fleetCommand: Command = {
  name: "fleet",
  summary: "the fleet service (inventory, desired configuration) and its commands",
  help,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        config: { type: "string" }, url: { type: "string" }, "token-file": { type: "string" }, site: { type: "string" }, device: { type: "string" }, group: { type: "string" }, json: { type: "boolean" },
        release: { type: "string" }, waves: { type: "string" }, soak: { type: "string" }, deadline: { type: "string" }, "no-rollback": { type: "boolean" },
      },
      true,
    );
    if (values.help) {
      console.log(help);
      return 0;
    }
    const [verb, sub, ...rest] = positionals;
    try {
      if (verb === undefined) return await serve(values.config);
      if (verb === "devices") {
        const { devices } = await client(values).devices(values.site);
        console.log(values.json ? JSON.stringify(devices, null, 2) : table(devices));
        return 0;
      }
      if (verb === "label") {
        if (!values.site || !values.device || sub === undefined) throw new UsageError("label needs --site, --device and group[,group…]");
        await client(values).setLabels(values.site, values.device, sub.split(",").filter((g) => g !== ""));
        return 0;
      }
      if (verb === "config" && (sub === "set" || sub === "unset")) {
        const scope = values.group !== undefined ? { group: values.group } : values.site !== undefined ? { site: values.site, ...(values.device ? { device: values.device } : {}) } : undefined;
        if (!scope || (values.group !== undefined && (values.site !== undefined || values.device !== undefined))) throw new UsageError("config set needs --site S [--device D], or --group G alone");
        if (sub === "set" && rest.length === 0) throw new UsageError("config set needs key=value…");
        if (sub === "unset" && rest.length > 0) throw new UsageError("config unset takes no key=value");
        const fields = sub === "set" ? parseAssignments(rest) : {};
        // refused here, with the field named, before anything is sent
        checkFields(fields);
        const { revision } = await client(values).setConfig({ scope, fields });
        console.log(`stored as revision ${revision}: the site gateways deliver it on their next sync`);
        return 0;
      }
      if (verb === "release" && sub === "publish") {
        const dir = rest[0];
        if (dir === undefined || rest.length > 1) throw new UsageError("release publish needs one DIR (image.bin, manifest.cbor, manifest.sig)");
        const parts = readReleaseParts(dir);
        const result = await client(values).publishRelease({ image: parts.image, manifest: parts.manifestBytes, signature: parts.signature });
        console.log(`release ${result.version} (${result.board}, ${result.sizeBytes} bytes) ${result.stored ? "published" : "was published already"}`);
        return 0;
      }
      if (verb === "releases") {
        const { releases } = await client(values).releases();
        console.log(values.json ? JSON.stringify(releases, null, 2) : releases.map((r) => `${r.version}  ${r.board}  ${r.sizeBytes} bytes  min ${r.minVersion}  ${new Date(r.publishedMs).toISOString()}  by ${r.publishedBy}`).join("\n"));
        return 0;
      }
      if (verb === "rollout") return await rollout(values, sub, rest);
      throw new UsageError(`unknown fleet command "${[verb, sub].filter(Boolean).join(" ")}"`);
    } catch (error) {
      if (error instanceof ConfigInputError) {
        console.error(`vibewatch fleet: config refused: ${error.message}`);
        return 2;
      }
      if (error instanceof FleetApiError) {
        console.error(`vibewatch fleet: ${error.message}`);
        return 1;
      }
      throw error;
    }
  },
};
