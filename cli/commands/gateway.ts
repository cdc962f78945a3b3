// `vibewatch gateway --config <file>`: runs the site gateway until SIGTERM/SIGINT, then stops
// intake, commits and acknowledges what waits, and closes the buffer.
import { connect as netConnect } from "node:net";
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
      // what the gateway would meet, said on stderr (stdout stays the config as JSON); a valid
      // config is exit 0 even when they do not answer: a check also runs where they are out of reach
      console.error(`broker ${config.mqtt.url}: ${await probeBroker(config.mqtt.url)}`);
      console.error(`ingest ${config.sink.url}: ${await probeIngest(config.sink.url)}`);
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

const PROBE_TIMEOUT_MS = 3000;

/** whether the broker's port takes a TCP (or TLS: mqtts/tls) connection; no MQTT session is opened */
async function probeBroker(url: string): Promise<string> {
  const parsed = new URL(url);
  const secure = parsed.protocol === "mqtts:" || parsed.protocol === "tls:";
  const port = Number(parsed.port || (secure ? 8883 : 1883));
  return await new Promise<string>((resolve) => {
    // the TLS handshake is not completed here: the client certificate may be readable only by the service
    const socket = netConnect({ host: parsed.hostname, port, timeout: PROBE_TIMEOUT_MS });
    socket.once("connect", () => {
      socket.destroy();
      resolve("accepts connections");
    });
    socket.once("timeout", () => {
      socket.destroy();
      resolve(`does not answer within ${PROBE_TIMEOUT_MS} ms`);
    });
    socket.once("error", (error: Error & { code?: string }) => resolve(`does not answer (${error.code ?? error.message})`));
  });
}

/** the ingest service's /healthz at the sink's origin */
async function probeIngest(sinkUrl: string): Promise<string> {
  try {
    const response = await fetch(new URL("/healthz", sinkUrl), { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    await response.arrayBuffer().catch(() => undefined);
    return `answers (/healthz ${response.status})`;
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return `does not answer (${cause ?? (error as Error).name})`;
  }
}
