// SqlDatabase on PostgreSQL (pg): production. BIGINT (int8) columns come back as JavaScript
// numbers, not pg's default strings: every integer the fleet stores (ms timestamps, boot ids,
// revisions) is below 2^53.
import pg from "pg";
import type { SqlDatabase, SqlExecutor, SqlRow, SqlValue } from "./sql-database.js";

const INT8_OID = 20;
const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
};

export class PostgresDatabase implements SqlDatabase {
  readonly dialect = "postgres" as const;
  readonly #pool: pg.Pool;

  constructor(connectionString: string, maxConnections = 5) {
    this.#pool = new pg.Pool({ connectionString, max: maxConnections, types, connectionTimeoutMillis: 10_000 });
    // an idle client's connection dropped (the server restarted): pg emits this on the pool, and an
    // unhandled 'error' would end the process; the next query gets a fresh connection
    this.#pool.on("error", () => undefined);
  }

  async query(sql: string, params: readonly SqlValue[] = []): Promise<SqlRow[]> {
    const result = await this.#pool.query(sql, params as SqlValue[]);
    return result.rows as SqlRow[];
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    const tx: SqlExecutor = { query: async (sql, params = []) => (await client.query(sql, params as SqlValue[])).rows as SqlRow[] };
    try {
      await client.query("BEGIN");
      const result = await fn(tx);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  close(): Promise<void> {
    return this.#pool.end();
  }
}
