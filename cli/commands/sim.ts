// `vibewatch sim`: a simulated site. N devices, each the real firmware in its own XS worker with a
// simulated board and the device's own MQTT client over a real TCP connection, publish to a real
// MQTT broker (see simulator/README.md).
import type { Command } from "../command.js";
import { numberOption, parseCommandArgs, UsageError } from "../command.js";
import { isValidId } from "../../protocol/topics.js";
// The simulator is imported when the command runs, not when the CLI starts: it brings SES
// lockdown (@endo/init, for the XS engine), which freezes the built-ins for the whole process, and
// libraries other commands load (modbus-serial extends Buffer.prototype) cannot run after it.
import type { FleetSnapshot } from "../../simulator/fleet.js";

const help = `Usage: vibewatch sim --devices <n> --broker <url> --site <id> [--duration <s>] [--speed <x>]

Runs a simulated site: <n> devices, each the real firmware (drivers, DSP, MQTT session with
store-and-forward, remote config) inside its own XS engine, on a simulated board with a synthetic
machine. Devices differ: machine speed, imbalance, bearing tone, a growing fault on every third,
sensor part, Wi-Fi RSSI. Their MQTT traffic goes to a real broker (QoS 1, persistent sessions).
Prints a live status line (devices connected, messages/s, backlog) and a summary at the end.
Stop early with Ctrl-C.

Options:
  --devices <n>     number of devices, 1..100 (required)
  --broker <url>    MQTT broker, mqtt://host:port (required)
  --site <id>       site id for the topics vw/v1/<site>/<device>/..., [a-z0-9-]{1,24} (required)
  --duration <s>    run time in seconds of real time, 1..86400 (default: until Ctrl-C)
  --speed <x>       virtual time per real time, 0.1..20 (default 1; faster needs more CPU)
  --heartbeat <s>   status heartbeat of the simulated firmware, 1..3600 s (default 30)
  -h, --help        this text`;

function statusLine(s: FleetSnapshot, elapsedS: number): string {
  return `[${elapsedS.toFixed(0).padStart(5)} s] devices connected ${s.connected}/${s.devices}  messages/s ${s.messagesPerS.toFixed(1).padStart(6)}  backlog ${s.backlog}  dropped ${s.dropped}  acked ${s.acknowledged}  device time ${s.virtualS.toFixed(0)} s`;
}

export const simCommand: Command = {
  name: "sim",
  summary: "run a simulated fleet of devices (real firmware in XS) against an MQTT broker",
  help,
  async run(argv) {
    const { values } = parseCommandArgs(argv, {
      devices: { type: "string" },
      broker: { type: "string" },
      site: { type: "string" },
      duration: { type: "string" },
      speed: { type: "string" },
      heartbeat: { type: "string" },
    });
    if (values.help) {
      console.log(help);
      return 0;
    }
    if (values.devices === undefined) throw new UsageError("--devices is required");
    const devices = numberOption("devices", values.devices, 1, 1, 100);
    if (!Number.isInteger(devices)) throw new UsageError(`--devices must be an integer, got "${values.devices}"`);
    if (!values.broker) throw new UsageError("--broker is required, e.g. mqtt://127.0.0.1:1883");
    let url: URL;
    try {
      url = new URL(values.broker);
    } catch {
      throw new UsageError(`--broker "${values.broker}" is not a URL, e.g. mqtt://127.0.0.1:1883`);
    }
    if (url.protocol === "mqtts:") {
      // the devices run the device's own TLS stack, which needs a certificate per device (CN = device id)
      throw new UsageError("--broker mqtts:// is not supported: simulated devices speak plain MQTT here (TLS with per-device certificates is exercised by the tests, see simulator/README.md); use a plain listener, e.g. mqtt://127.0.0.1:1883");
    }
    if (!["mqtt:", "tcp:"].includes(url.protocol)) throw new UsageError(`--broker must be mqtt:// or tcp://, got "${url.protocol}//"`);
    if (!values.site) throw new UsageError("--site is required");
    if (!isValidId(values.site)) throw new UsageError(`--site "${values.site}" must be 1..24 of [a-z0-9-], starting with a letter or digit`);
    const durationS = values.duration === undefined ? undefined : numberOption("duration", values.duration, 0, 1, 86_400);
    const speed = numberOption("speed", values.speed, 1, 0.1, 20);
    const heartbeatS = numberOption("heartbeat", values.heartbeat, 30, 1, 3600);

    console.error(`starting ${devices} simulated device(s) against ${values.broker}, site ${values.site}, speed ${speed}x`);
    // signals from before the fleet starts (booting many devices takes a while): a stop then is a clean stop
    let stopping = false;
    const onSignal = () => {
      stopping = true;
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    const { Fleet } = await import("../../simulator/fleet.js");
    const fleet = await Fleet.start({ devices, brokerUrl: values.broker, siteId: values.site, speed, heartbeatS: Math.round(heartbeatS) });
    const startedAt = Date.now();
    const tty = process.stderr.isTTY === true;
    let last: FleetSnapshot | undefined;
    let lastPrintAt = 0;
    try {
      while (!stopping && (durationS === undefined || Date.now() - startedAt < durationS * 1000)) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        last = await fleet.snapshot();
        const elapsedS = (Date.now() - startedAt) / 1000;
        if (tty) process.stderr.write(`\r${statusLine(last, elapsedS)}\u001b[K`);
        else if (Date.now() - lastPrintAt >= 5000) {
          console.error(statusLine(last, elapsedS));
          lastPrintAt = Date.now();
        }
        if (last.errors.length > 0) {
          console.error(`\nfirmware error: ${last.errors.join("; ")}`);
          break;
        }
      }
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
    if (tty) process.stderr.write("\n");
    const summary = await fleet.summary();
    await fleet.stop();
    console.log("device            part     speedHz  fault/h  telemetry  alerts  status  acked  dropped  backlog  reconnects");
    for (const d of summary) {
      console.log(
        `${d.device.padEnd(17)} ${d.part.padEnd(8)} ${String(d.runningSpeedHz).padStart(7)}  ${String(d.faultGrowthPerHour).padStart(7)}  ${String(d.telemetry).padStart(9)}  ${String(d.alerts).padStart(6)}  ${String(d.statuses).padStart(6)}  ${String(d.acknowledged).padStart(5)}  ${String(d.dropped).padStart(7)}  ${String(d.backlog).padStart(7)}  ${String(d.reconnects).padStart(10)}`,
      );
    }
    const totals = summary.reduce((t, d) => ({ telemetry: t.telemetry + d.telemetry, alerts: t.alerts + d.alerts, acknowledged: t.acknowledged + d.acknowledged, dropped: t.dropped + d.dropped, backlog: t.backlog + d.backlog }), { telemetry: 0, alerts: 0, acknowledged: 0, dropped: 0, backlog: 0 });
    console.log(JSON.stringify({ devices, site: values.site, realS: Math.round((Date.now() - startedAt) / 1000), deviceS: Math.round(last?.virtualS ?? 0), ...totals }));
    return last && last.errors.length > 0 ? 1 : 0;
  },
};
