// A private Mosquitto 2 for a test: free port on 127.0.0.1, persistence in a temporary folder.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ManagedProcess, tcpAccepts } from "./managed-process.js";
import { freePort } from "./free-port.js";

export interface MosquittoOptions {
  /** extra mosquitto.conf lines, appended after the listener */
  extraConfig?: string;
  /**
   * A whole config instead of the default one; "{{PORT}}" and "{{DIR}}" are replaced.
   * The helper still appends persistence and log settings.
   */
  config?: string;
  /** wait for TLS listeners with a TCP connect only (the default checks the same) */
  port?: number;
}

export interface MosquittoHandle {
  host: string;
  port: number;
  url: string;
  dir: string;
  process: ManagedProcess;
  stop(): Promise<void>;
  start(): Promise<void>;
  restart(): Promise<void>;
  kill(): Promise<void>;
  log(): string;
  dispose(): Promise<void>;
}

export const MOSQUITTO_BIN = process.env.VW_MOSQUITTO ?? "/usr/sbin/mosquitto";

export async function startMosquitto(options: MosquittoOptions = {}): Promise<MosquittoHandle> {
  const port = options.port ?? (await freePort());
  const process_ = new ManagedProcess({
    name: "mosquitto",
    command: MOSQUITTO_BIN,
    args: (dir) => ["-c", join(dir, "mosquitto.conf")],
    ready: () => tcpAccepts(port),
  });
  const dir = process_.dir;
  const base = options.config
    ? options.config.replaceAll("{{PORT}}", String(port)).replaceAll("{{DIR}}", dir)
    : [`listener ${port} 127.0.0.1`, "allow_anonymous true", options.extraConfig ?? ""].join("\n");
  const config = [
    base,
    // run as whoever started us (root in CI) instead of dropping to the "mosquitto" user,
    // which could not write this folder
    process.getuid?.() === 0 ? "user root" : "",
    "persistence true",
    `persistence_location ${dir}/`,
    "autosave_interval 1",
    `log_dest file ${join(dir, "mosquitto.log")}`,
    "log_type error",
    "log_type warning",
    "log_type notice",
    "log_type information",
    "connection_messages true",
  ].join("\n");
  writeFileSync(join(dir, "mosquitto.conf"), `${config}\n`);
  await process_.start();
  return {
    host: "127.0.0.1",
    port,
    url: `mqtt://127.0.0.1:${port}`,
    dir,
    process: process_,
    stop: () => process_.stop(),
    start: () => process_.start(),
    restart: () => process_.restart(),
    kill: () => process_.kill(),
    log: () => process_.log(),
    dispose: () => process_.dispose(),
  };
}
