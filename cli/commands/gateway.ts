// `vibewatch gateway --config <file>`: runs the site gateway until SIGTERM/SIGINT, then stops
// intake, commits and acknowledges what waits, and closes the buffer.
import type { Command } from "../command.js";
import { parseCommandArgs, UsageError } from "../command.js";
import { ConfigError, environmentNames, loadConfig, readToken, TOKEN_ENV } from "../../gateway/config/load-config.js";
import { Gateway } from "../../gateway/gateway.js";
import { createLogger } from "../../gateway/logger.js";
import { SystemdNotifier } from "../../gateway/service/systemd-notify.js";

const help = `Usage: vibewatch gateway --config <file>

Runs the site gateway: MQTT (QoS 1, persistent session) -> durable SQLite buffer -> batched HTTPS
to the ingest service; local alert republish, offline detection, per-device rate limits,
/metrics and /healthz. See gateway/README.md and gateway/sample-config.yaml.

Options:
  --config <file>   YAML or JSON config file (required)
  --check           validate the config and exit (prints the effective config, token hidden)
  -h, --help        this text

Environment: every field can be overridden by VW_GATEWAY_<PATH>, e.g.
${environmentNames()
  .slice(0, 4)
  .map((entry) => `  ${entry.env.padEnd(34)} ${entry.field}`)
  .join("\n")}
  ...
  ${TOKEN_ENV.padEnd(34)} the bearer token itself (else sink.tokenFile)`;

export const gatewayCommand: Command = {
  name: "gateway",
  summary: "run the site gateway (MQTT in, durable buffer, batched forwarding to the cloud)",
  help,
  async run(argv) {
    const { values } = parseCommandArgs(argv, { config: { type: "string" }, check: { type: "boolean" } });
    if (values.help) {
      console.log(help);
      return 0;
    }
    if (!values.config) throw new UsageError("--config <file> is required");
    let config;
    let token: string | undefined;
    try {
      config = loadConfig(values.config);
      token = readToken(config);
    } catch (error) {
      if (error instanceof ConfigError) {
        console.error(`vibewatch gateway: ${error.message}`);
        return 2;
      }
      throw error;
    }
    if (values.check) {
      console.log(JSON.stringify(config, null, 2));
      return 0;
    }
    const log = createLogger(config.logLevel);
    // The handlers go in before start-up: start waits for the broker (up to its connect timeout),
    // and a SIGTERM then (systemd stopping a gateway whose broker is down) must still end in a
    // logged, clean stop with exit 0, not the default handler's silent exit 143.
    const notifier = new SystemdNotifier({ log });
    let stopSignal: NodeJS.Signals | undefined;
    let wake: (() => void) | undefined;
    const starting = new AbortController();
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopSignal) return;
      stopSignal = signal;
      log.info({ signal }, "stopping");
      starting.abort();
      wake?.();
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
    let gateway: Gateway;
    try {
      gateway = await Gateway.start(config, { log, signal: starting.signal, ...(token ? { token } : {}) });
      if (!stopSignal) {
        // under systemd (Type=notify): ready now, and watchdog pings from the event loop
        notifier.ready(`gateway ${config.gatewayId}: forwarding`);
        await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
    }
    notifier.stopping();
    await gateway.stop();
    return 0;
  },
};
