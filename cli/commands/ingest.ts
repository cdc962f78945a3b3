// `vibewatch ingest --config <file>`: runs the cloud ingest service (cloud/app.ts) until SIGTERM or
// SIGINT, then shuts down gracefully (in-flight writes drain, then the storage closes).
// `vibewatch ingest --hash-token` reads a gateway token on stdin and prints the tokenHash for the config.
import type { Command } from "../command.js";
import { parseCommandArgs, UsageError } from "../command.js";
import { StopSignals } from "../stop-signals.js";
import { build } from "../../cloud/app.js";
import { ConfigError, loadConfig } from "../../cloud/config/load.js";
import { existsSync } from "node:fs";
import type { IngestConfig } from "../../cloud/config/schema.js";
import { createWriter, DEFAULT_EMBEDDED_PATH } from "../../cloud/storage/create-writer.js";
import { hashToken, type TokenHashAlgorithm } from "../../cloud/auth/token-hash.js";

const help = `Usage: vibewatch ingest --config <file>
       vibewatch ingest --hash-token [--algorithm scrypt|sha256] < token-file

Runs the ingest service: POST /v1/batches from gateways (CBOR or JSON, bearer token per gateway),
validated record by record and written to InfluxDB (v1 /write or the v2 API) or, when the config
has no storage section, to the embedded SQLite store. /healthz, /readyz, /metrics.
Settings come from the config file (YAML or JSON, see cloud/config/sample-config.yaml) and
VW_INGEST_* environment variables (e.g. VW_INGEST_STORAGE_PASSWORD, VW_INGEST_LISTEN_PORT).

Options:
  --config <file>        the config file (without it: environment and defaults only)
  --check                validate the config and exit
  --hash-token           read a token on stdin, print its hash for gateways[].tokenHash
  --algorithm <name>     hash for --hash-token: scrypt (default) or sha256
  -h, --help             this text`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8").trim();
}

export const ingestCommand: Command = {
  name: "ingest",
  summary: "run the cloud ingest service (gateways -> InfluxDB or the embedded store)",
  help,
  async run(argv) {
    const { values } = parseCommandArgs(argv, {
      config: { type: "string" },
      check: { type: "boolean" },
      "hash-token": { type: "boolean" },
      algorithm: { type: "string" },
    });
    if (values.help) {
      console.log(help);
      return 0;
    }
    if (values["hash-token"]) {
      const algorithm = (values.algorithm ?? "scrypt") as TokenHashAlgorithm;
      if (algorithm !== "scrypt" && algorithm !== "sha256") throw new UsageError(`--algorithm must be scrypt or sha256, got "${algorithm}"`);
      const token = await readStdin();
      if (token === "") throw new UsageError("--hash-token expects the token on stdin");
      console.log(await hashToken(token, algorithm));
      return 0;
    }
    if (values.algorithm !== undefined) throw new UsageError("--algorithm goes with --hash-token");

    let config;
    try {
      config = loadConfig(values.config);
    } catch (error) {
      if (error instanceof ConfigError) {
        // 2: a usage or config error, as every command (README, "Exit codes")
        console.error(`vibewatch ingest: ${error.message}`);
        return 2;
      }
      throw error;
    }
    if (values.check) return await check(values.config ?? "the environment", config);
    const signals = new StopSignals();
    const app = await build({ config, defaultMetrics: true });
    await app.listen({ host: config.listen.host, port: config.listen.port });
    // a storage that is not there at start is said at once (batches get 503 until it answers)
    if (!signals.requested && !(await app.ingest.writer.ping())) app.log.warn({ storage: storageName(config) }, "storage does not answer: batches get 503 VW_STORAGE_UNAVAILABLE until it does");
    const signal = await signals.next();
    app.log.info({ signal }, "shutting down: draining in-flight writes");
    try {
      await app.close();
      return 0;
    } catch (error) {
      app.log.error({ err: error }, "shutdown failed");
      return 1;
    }
  },
};

function storageName(config: IngestConfig): string {
  const storage = config.storage;
  if (!storage) return `embedded store ${DEFAULT_EMBEDDED_PATH} (default)`;
  if (storage.type === "embedded") return `embedded store ${storage.path}`;
  if (storage.type === "influx-v1") return `influx-v1 ${storage.url} database ${storage.database}`;
  return `influx-v2 ${storage.url} org ${storage.org} bucket ${storage.bucket}`;
}

/**
 * --check: the config (exit 2 when invalid, before this), and whether the storage it names answers,
 * said, not failed on: a check also runs where the storage is out of reach (an image build, CI)
 */
async function check(path: string, config: IngestConfig): Promise<number> {
  const gateways = config.gateways.length === 0 ? "no gateways (none can post: add gateways[] with `vibewatch pki token`)" : `${config.gateways.length} gateway(s)`;
  if (!config.storage || config.storage.type === "embedded") {
    // opening the embedded store would create it: a check says what start-up would do instead
    const file = config.storage?.path ?? DEFAULT_EMBEDDED_PATH;
    console.log(`config ok (${path}): ${gateways}`);
    console.log(`storage ${storageName(config)}: ${existsSync(file) ? "exists" : "created at start"}`);
    return 0;
  }
  const writer = createWriter(config.storage);
  let reachable = false;
  try {
    reachable = await writer.ping();
  } finally {
    await writer.close();
  }
  console.log(`config ok (${path}): ${gateways}`);
  console.log(`storage ${storageName(config)}: ${reachable ? "answers" : "does not answer (from here, now)"}`);
  return 0;
}
