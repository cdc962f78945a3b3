// `vibewatch quarantine list|show|replay`: what the gateway quarantined (messages that failed
// validation or a source's mapping, records the cloud refused), and re-ingesting JSON-over-MQTT
// messages after a mapping fix. list and show read the buffer file (safe while the gateway runs:
// WAL readers never block it); replay asks the running gateway to do it (POST /quarantine/replay on
// its ops server), so the record goes through the gateway's own mapping and buffer.
import type { Command } from "../command.js";
import { numberOption, parseCommandArgs, UsageError } from "../command.js";
import { loadConfig } from "../../gateway/config/load-config.js";
import { QuarantineReader, type QuarantineSummary } from "../../gateway/buffer/quarantine-replay.js";
import type { ReplayReply } from "../../gateway/sources/southbound/quarantine-replay.js";

const help = `Usage: vibewatch quarantine list   (--config <gateway.yaml> | --buffer <file.db>) [--code <code>] [--source <name>] [--limit <n>] [--after <id>] [--json]
       vibewatch quarantine show   (--config <gateway.yaml> | --buffer <file.db>) <id> [--json]
       vibewatch quarantine replay (--config <gateway.yaml> | --gateway-url <url>) (--all [--source <name>] | <id>...) [--json]

list     the quarantined entries, oldest first: id, time, code, device or source, topic, reason;
         then the counts per device and code since the buffer file was created
show     one entry with its payload (as text when it is UTF-8, else as hex)
replay   re-ingests quarantined JSON-over-MQTT messages through the RUNNING gateway's mappings: fix
         the mapping in the config, restart the gateway, then replay. Each entry is mapped again as a
         live message would be; one that maps is stored as a reading (boot 0, sequence = the entry id,
         so replaying it twice stores the same point) and marked VW_REPLAYED; one that still does not
         map stays, with the new reason. Device messages cannot be replayed (a config change does not
         make them valid). Exits 0 when nothing was refused, 1 otherwise.

Options:
  --config <file>      the gateway's config: its buffer.path, and its ops server (http.host/port) for replay
  --buffer <file>      the gateway's buffer file instead of --config (list, show)
  --gateway-url <url>  the gateway's ops server instead of --config (replay), e.g. http://127.0.0.1:9464
  --code <code>        only entries with this code (VW_NOT_JSON, VW_MAPPING, VW_SCHEMA, VW_REPLAYED...)
  --source <name>      only entries of this JSON-over-MQTT source
  --limit <n>          list at most n entries (default 100)
  --after <id>         list entries after this id (paging)
  --all                replay every entry not replayed yet (at most 1000 per run)
  --json               print JSON
  -h, --help           this text`;

function bufferPath(values: { config?: string; buffer?: string }): string {
  if (values.buffer && values.config) throw new UsageError("give either --config or --buffer, not both");
  if (values.buffer) return values.buffer;
  if (values.config) return loadConfig(values.config).buffer.path;
  throw new UsageError("give --config <gateway.yaml> or --buffer <file.db>");
}

function line(entry: QuarantineSummary): string {
  return `${entry.id}\t${new Date(entry.atUs / 1000).toISOString()}\t${entry.code}\t${entry.device}\t${entry.topic}\t${entry.reason}`;
}

function payloadText(payload: Uint8Array): string {
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(payload);
    // printable apart from tabs and line breaks: shown as text
    if (![...text].some((c) => c.charCodeAt(0) < 0x20 && !"\t\n\r".includes(c))) return text;
  } catch {
    // not UTF-8: hex below
  }
  return Buffer.from(payload).toString("hex").replace(/(.{2})/g, "$1 ").trim();
}

export const quarantineCommand: Command = {
  name: "quarantine",
  summary: "list, show and replay the gateway's quarantined messages",
  help,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        config: { type: "string" },
        buffer: { type: "string" },
        "gateway-url": { type: "string" },
        code: { type: "string" },
        source: { type: "string" },
        limit: { type: "string" },
        after: { type: "string" },
        all: { type: "boolean" },
        json: { type: "boolean" },
      },
      true,
    );
    if (values.help) {
      console.log(help);
      return 0;
    }
    const [action, ...rest] = positionals;
    if (action === "list" || action === "show") {
      const reader = new QuarantineReader(bufferPath(values));
      try {
        if (action === "list") {
          const entries = reader.list({
            ...(values.code ? { code: values.code } : {}),
            ...(values.source ? { topicPrefix: `${values.source}:` } : {}),
            limit: numberOption("limit", values.limit, 100, 1, 100_000),
            afterId: numberOption("after", values.after, 0, 0),
          });
          const counts = reader.counts();
          if (values.json) console.log(JSON.stringify({ entries, counts }, null, 2));
          else {
            console.log(entries.length === 0 ? "no quarantined entries" : ["id\tat\tcode\tdevice/source\ttopic\treason", ...entries.map(line)].join("\n"));
            if (counts.length > 0) console.log(`\ncounts since the file was created:\n${counts.map((c) => `  ${c.device}\t${c.code}\t${c.count}`).join("\n")}`);
          }
          return 0;
        }
        const id = numberOption("id", rest[0], NaN, 1);
        if (!Number.isSafeInteger(id)) throw new UsageError("show needs the entry id: vibewatch quarantine show <id>");
        const entry = reader.get(id);
        if (!entry) {
          console.error(`no quarantine entry ${id} (evicted, replayed long ago, or never there)`);
          return 1;
        }
        const { payload, ...summary } = entry;
        if (values.json) console.log(JSON.stringify({ ...summary, payload: payloadText(payload) }, null, 2));
        else console.log(`${line(summary)}\npayload (${payload.length} bytes):\n${payloadText(payload)}`);
        return 0;
      } finally {
        reader.close();
      }
    }
    if (action === "replay") {
      const ids = rest.map((value) => numberOption("id", value, NaN, 1));
      if (ids.some((id) => !Number.isSafeInteger(id))) throw new UsageError("replay takes entry ids (integers) or --all");
      if (ids.length === 0 && !values.all) throw new UsageError("replay needs entry ids or --all");
      if (ids.length > 0 && values.all) throw new UsageError("give entry ids or --all, not both");
      let url = values["gateway-url"];
      if (!url) {
        if (!values.config) throw new UsageError("replay needs --config <gateway.yaml> or --gateway-url <url>");
        const { http } = loadConfig(values.config);
        if (http.port === 0) throw new UsageError("the config's http.port is 0 (a random port): give --gateway-url");
        url = `http://${http.host === "0.0.0.0" ? "127.0.0.1" : http.host}:${http.port}`;
      }
      let response: Response;
      try {
        response = await fetch(`${url.replace(/\/+$/, "")}/quarantine/replay`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(ids.length > 0 ? { ids } : { ...(values.source ? { source: values.source } : {}) }),
          signal: AbortSignal.timeout(60_000),
        });
      } catch (error) {
        console.error(`the gateway's ops server at ${url} does not answer (${(error as Error).message}): replay runs inside the running gateway; start it with the fixed config`);
        return 2;
      }
      const body = (await response.json().catch(() => ({}))) as ReplayReply & { error?: string };
      if (!response.ok) {
        console.error(`replay refused (${response.status}): ${body.error ?? "no reason given"}`);
        return 2;
      }
      if (values.json) console.log(JSON.stringify(body, null, 2));
      else {
        console.log(`stored ${body.stored}, still refused ${body.refused}, skipped ${body.skipped}`);
        for (const result of body.results) if (result.outcome !== "stored") console.log(`  ${result.id}\t${result.outcome}\t${result.code ?? ""}\t${result.reason ?? ""}`);
      }
      return body.refused === 0 ? 0 : 1;
    }
    throw new UsageError(`want list, show or replay${action ? `, got "${action}"` : ""}`);
  },
};
