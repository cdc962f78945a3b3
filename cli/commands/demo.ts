// `vibewatch demo`: the whole chain on one machine, with a live status line and a loss audit.
import type { Command } from "../command.js";
import { parseCommandArgs, numberOption } from "../command.js";
// The simulator is imported when the command runs, not when the CLI starts: it brings SES
// lockdown (@endo/init, for the XS engine), which freezes the built-ins for the whole process, and
// libraries other commands load (modbus-serial extends Buffer.prototype) cannot run after it.
import type { DemoStatus, DemoSummary } from "../../demo/run-demo.js";
import { formatAudit } from "../../cloud/audit/sequence-audit.js";

const help = `Usage: vibewatch demo [options]

Runs the whole pipeline on this machine: an embedded MQTT broker, a simulated fleet whose devices
run the real firmware in the XS engine (some machines develop a fault), the site gateway, the
ingest service, and storage: a private InfluxDB when influxd is installed, the embedded store
otherwise. Shows a live status line; at the end (or on Ctrl-C) prints a summary with the loss
audit: messages sent by the devices, stored, missing and duplicated, and the alert latency.
Exits 0 when nothing is missing or duplicated.

Options:
  --devices <n>          simulated devices (default 6)
  --duration <s>         stop by itself after this many seconds (default: until Ctrl-C)
  --broker <url>         use this MQTT broker instead of the embedded one
  --influx-url <url>     use this InfluxDB (1.x /write and /query) instead of a private one
  --database <name>      InfluxDB database (default vibewatch)
  --embedded             use the embedded store even when influxd is installed
  --heartbeat <s>        device status interval (default 10)
  --keep-data            keep the working folder (buffer, store, logs) and print its path
  --json                 print the summary as JSON
  -h, --help             this text`;

function statusLine(s: DemoStatus): string {
  const zones = Object.values(s.zones);
  const count = (z: string) => zones.filter((x) => x === z).length;
  return `[${String(s.elapsedS).padStart(4)} s] devices ${s.devicesOnline}/${s.devices} online · ${s.messagesPerS.toFixed(1)} msg/s · device backlog ${s.deviceBacklog} · gateway buffered ${s.gatewayBuffered} · stored ${s.stored} · alerts ${s.alerts} · zones A ${count("A")} B ${count("B")} C ${count("C")} D ${count("D")}`;
}

function summaryText(summary: DemoSummary): string {
  const latency = summary.alertLatencyMs;
  return [
    "",
    `vibewatch demo: ${summary.devices} devices for ${summary.durationS} s, storage: ${summary.storage}`,
    `  sent by devices (acknowledged by the broker): ${summary.sentByDevices}`,
    `  stored: ${summary.stored} · missing: ${summary.missing} · duplicated: ${summary.duplicated}` +
      (summary.droppedByDevices ? ` · dropped by device rings (counted): ${summary.droppedByDevices}` : "") +
      (summary.leftInDeviceRings ? ` · still in device rings at power-off: ${summary.leftInDeviceRings}` : ""),
    `  alerts: ${summary.alerts} · alert latency device → gateway local topic: ` +
      (latency.samples ? `p50 ${latency.p50} ms, p99 ${latency.p99} ms (${latency.samples} alerts)` : "no alert raised in this run"),
    `  zones now: ${Object.entries(summary.zones).map(([d, z]) => `${d} ${z}`).join(", ") || "none yet"}`,
    `  audit: ${formatAudit(summary.audit).split("\n").join("\n  ")}`,
  ].join("\n");
}

export const demoCommand: Command = {
  name: "demo",
  summary: "run the whole chain on this machine: simulated fleet, gateway, ingest, storage",
  help,
  async run(argv) {
    const { values } = parseCommandArgs(argv, {
      devices: { type: "string" },
      duration: { type: "string" },
      broker: { type: "string" },
      "influx-url": { type: "string" },
      database: { type: "string" },
      embedded: { type: "boolean" },
      heartbeat: { type: "string" },
      "keep-data": { type: "boolean" },
      json: { type: "boolean" },
    });
    if (values.help) {
      console.log(help);
      return 0;
    }
    const { Demo } = await import("../../demo/run-demo.js");
    const demo = new Demo();
    const interactive = process.stdout.isTTY === true;
    const onSignal = () => demo.stop();
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    try {
      const summary = await demo.run({
        devices: numberOption("devices", values.devices, 6, 1, 200),
        durationS: values.duration === undefined ? undefined : numberOption("duration", values.duration, 60, 1, 7 * 24 * 3600),
        brokerUrl: values.broker,
        influxUrl: values["influx-url"],
        influxDatabase: values.database,
        embedded: values.embedded,
        heartbeatS: numberOption("heartbeat", values.heartbeat, 10, 1, 3600),
        keepData: values["keep-data"],
        onStatus: values.json
          ? undefined
          : (status) => {
              const line = statusLine(status);
              if (interactive) process.stdout.write(`\r${line}\x1b[K`);
              else if (status.elapsedS % 10 === 0) console.log(line);
            },
      });
      if (interactive && !values.json) process.stdout.write("\n");
      console.log(values.json ? JSON.stringify(summary, null, 2) : summaryText(summary));
      if (values["keep-data"]) console.log(`  data kept in ${summary.dataDir}`);
      return summary.missing === 0 && summary.duplicated === 0 ? 0 : 1;
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  },
};
