// SqlDatabase on SQLite (better-sqlite3): the embedded default (the demo, a single site).
// better-sqlite3 is synchronous and has one connection, so transactions are serialised here: an
// async transaction holds the connection until it ends, and queries outside one wait for it.
import Database from "better-sqlite3";
import type { SqlDatabase, SqlExecutor, SqlRow, SqlValue } from "./sql-database.js";

/** "$1 … $2 … $1" -> "? … ? … ?" with the parameters in the order they appear */
function positional(sql: string, params: readonly SqlValue[]): { text: string; values: SqlValue[] } {
  const values: SqlValue[] = [];
  const text = sql.replace(/\$(\d+)/g, (_, n: string) => {
    const index = Number(n) - 1;
    if (index < 0 || index >= params.length) throw new Error(`sql: no parameter $${n} (have ${params.length})`);
    values.push(params[index] as SqlValue);
    return "?";
  });
  return { text, values };
}

export class SqliteDatabase implements SqlDatabase {
  readonly dialect = "sqlite" as const;
  readonly #db: Database.Database;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(path: string) {
    this.#db = new Database(path);
    this.#db.pragma("journal_mode = WAL");
    this.#db.pragma("synchronous = FULL");
    this.#db.pragma("busy_timeout = 5000");
  }

  #run(sql: string, params: readonly SqlValue[] = []): SqlRow[] {
    const { text, values } = positional(sql, params);
    const statement = this.#db.prepare(text);
    return statement.reader ? (statement.all(...values) as SqlRow[]) : (statement.run(...values), []);
  }

  query(sql: string, params: readonly SqlValue[] = []): Promise<SqlRow[]> {
    const next = this.#queue.then(() => this.#run(sql, params));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const tx: SqlExecutor = { query: async (sql, params) => this.#run(sql, params) };
    const next = this.#queue.then(async () => {
      this.#db.exec("BEGIN IMMEDIATE");
      try {
        const result = await fn(tx);
        this.#db.exec("COMMIT");
        return result;
      } catch (error) {
        this.#db.exec("ROLLBACK");
        throw error;
      }
    });
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    await this.#queue;
    this.#db.close();
  }
}
