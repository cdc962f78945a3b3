// `vibewatch audit`: per device and boot, the sequence numbers missing and duplicated in the
// store, and when the gaps happened. Reads InfluxDB (InfluxQL /query) or the embedded store.
import type { Command } from "../command.js";
import { parseCommandArgs, UsageError, numberOption } from "../command.js";
import { auditSequences, formatAudit } from "../../cloud/audit/sequence-audit.js";
import { readEmbeddedRows, readInfluxRows, type AuditRows } from "../../cloud/audit/audit-sources.js";
import { auditSources, formatSourceAudit, readEmbeddedSourceRows, readInfluxSourceRows, type SourceRows } from "../../cloud/audit/source-audit.js";

const help = `Usage: vibewatch audit (--influx-url <url> --database <db> | --store <file.sqlite>) [options]

Reads every stored device message's boot id and sequence number and reports, per device and boot,
the numbers missing and duplicated, the time ranges of the gaps, and how many messages the device
itself reported dropping (its ring was full). Then the same per southbound source (Modbus, OPC UA,
JSON over MQTT) and source boot: missing reading slots, how many of them the source counted as
gaps (missed polls), and the rest (unexplained). Exits 0 when nothing is missing beyond the device's
reported drops and nothing is duplicated, 1 otherwise.

Options:
  --influx-url <url>     InfluxDB base URL (1.x /query; 2.x/3.x answer InfluxQL too)
  --database <db>        InfluxDB database (1.x) or DBRP-mapped bucket name
  --username <name>      InfluxDB user (password from VW_AUDIT_INFLUX_PASSWORD)
  --store <file>         the ingest service's embedded SQLite store instead of InfluxDB
  --since-s <seconds>    only points stored in the last N seconds
  --json                 print the full report as JSON
  -h, --help             this text`;

export const auditCommand: Command = {
  name: "audit",
  summary: "report missing and duplicated sequence numbers per device and boot",
  help,
  async run(argv) {
    const { values } = parseCommandArgs(argv, {
      "influx-url": { type: "string" },
      database: { type: "string" },
      username: { type: "string" },
      store: { type: "string" },
      "since-s": { type: "string" },
      json: { type: "boolean" },
    });
    if (values.help) {
      console.log(help);
      return 0;
    }
    const sinceS = numberOption("since-s", values["since-s"], 0, 0);
    const sinceUs = sinceS > 0 ? (Date.now() - sinceS * 1000) * 1000 : 0;
    let rows: AuditRows;
    let sourceRows: SourceRows;
    if (values.store) {
      if (values["influx-url"]) throw new UsageError("give either --store or --influx-url, not both");
      rows = readEmbeddedRows(values.store, sinceUs);
      sourceRows = readEmbeddedSourceRows(values.store, sinceUs);
    } else if (values["influx-url"]) {
      if (!values.database) throw new UsageError("--database is required with --influx-url");
      const influx = {
        url: values["influx-url"],
        database: values.database,
        username: values.username,
        password: process.env.VW_AUDIT_INFLUX_PASSWORD,
        sinceUs,
      };
      rows = await readInfluxRows(influx);
      sourceRows = await readInfluxSourceRows(influx);
    } else {
      throw new UsageError("give --store <file> or --influx-url <url> --database <db>");
    }
    const report = auditSequences(rows.rows, rows.drops);
    const sources = auditSources(sourceRows);
    console.log(values.json ? JSON.stringify({ ...report, sources }, null, 2) : `${formatAudit(report)}\n${formatSourceAudit(sources)}`);
    const clean = (r: typeof report) => r.totals.unexplained === 0 && r.totals.duplicated === 0;
    return clean(report) && clean(sources.report) ? 0 : 1;
  },
};
