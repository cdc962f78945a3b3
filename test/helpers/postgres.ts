// A private PostgreSQL 15 cluster (Debian's `postgresql`) for a test: initdb in a temporary folder,
// postgres on a free port with its socket in that folder, stopped and removed at the end.
// PostgreSQL refuses to run as root; CI runs as root, so the cluster then belongs to the
// unprivileged "postgres" user the Debian package creates (its folder is chowned to it).
import { execFileSync } from "node:child_process";
import { chownSync, existsSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { ManagedProcess } from "./managed-process.js";
import { freePort } from "./free-port.js";

const BIN = process.env.VW_PG_BIN ?? "/usr/lib/postgresql/15/bin";

export interface PostgresHandle {
  /** connection string of the test database, user "vw", no password (trust on the loopback) */
  url: string;
  port: number;
  process: ManagedProcess;
  /** a fresh empty database on the cluster; returns its connection string */
  createDatabase(name: string): Promise<string>;
  kill(): Promise<void>;
  start(): Promise<void>;
  dispose(): Promise<void>;
}

function osUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
  return { uid, gid };
}

export async function startPostgres(): Promise<PostgresHandle> {
  if (!existsSync(join(BIN, "initdb"))) throw new Error(`PostgreSQL not found in ${BIN}: run scripts/setup (Debian package postgresql)`);
  const port = await freePort();
  const user = osUser();
  const managed = new ManagedProcess({
    name: "postgres",
    command: join(BIN, "postgres"),
    // fsync off: a test cluster, killed with its folder; SIGKILL tests kill the fleet service, not this
    args: (dir) => ["-D", join(dir, "data"), "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=50"],
    ready: async () => {
      const client = new pg.Client({ host: "127.0.0.1", port, user: "vw", database: "postgres" });
      try {
        await client.connect();
        return true;
      } catch {
        return false;
      } finally {
        await client.end().catch(() => undefined);
      }
    },
    user,
  });
  if (user) chownSync(managed.dir, user.uid, user.gid);
  execFileSync(join(BIN, "initdb"), ["-D", join(managed.dir, "data"), "-U", "vw", "--auth=trust", "-E", "UTF8", "--no-sync"], { stdio: "pipe", ...user });
  await managed.start();
  const urlOf = (database: string) => `postgres://vw@127.0.0.1:${port}/${database}`;
  let databases = 0;
  return {
    url: urlOf("postgres"),
    port,
    process: managed,
    async createDatabase(name) {
      const database = `${name.replace(/[^a-z0-9_]/g, "_")}_${++databases}`;
      const client = new pg.Client({ connectionString: urlOf("postgres") });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${database}`);
      } finally {
        await client.end();
      }
      return urlOf(database);
    },
    kill: () => managed.kill(),
    start: () => managed.start(),
    dispose: () => managed.dispose(),
  };
}
