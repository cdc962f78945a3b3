// The one seam between the fleet repository and its two databases: SQL text with $1, $2, …
// placeholders (PostgreSQL's), rows as plain objects, and transactions. The repository's SQL is
// the portable subset both speak (TEXT, BIGINT, INTEGER booleans, INSERT … ON CONFLICT … DO UPDATE,
// UPDATE … RETURNING), so one schema and one set of queries serve both backends.

export type SqlValue = string | number | null;
export type SqlRow = Record<string, SqlValue>;

export interface SqlExecutor {
  /** runs one statement; rows for SELECT/RETURNING, [] otherwise */
  query(sql: string, params?: readonly SqlValue[]): Promise<SqlRow[]>;
}

export interface SqlDatabase extends SqlExecutor {
  readonly dialect: "sqlite" | "postgres";
  /** runs fn in one transaction: committed when it resolves, rolled back when it throws */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
