import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";

// bigint (int8) columns come back as strings by default; ids here stay far below 2^53, and
// stream sequences too, so parse them as numbers once, at the edge.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number.parseInt(value, 10));

export type DatabaseOptions = {
  /** `postgres://user@host:port/db` */
  url: string;
  /** Pool size; the gateway wants ~8 (Node, not PostgreSQL, is the limit beyond that). */
  max?: number;
  /** Name shown in `pg_stat_activity`. */
  applicationName?: string;
};

export function createPool(options: DatabaseOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 8,
    application_name: options.applicationName ?? "kasmap",
    idleTimeoutMillis: 30_000,
  });
  // A PostgreSQL restart kills idle clients; without a listener the pool's 'error' event would
  // crash the process. The next query gets a fresh connection.
  pool.on("error", () => {});
  // The pool's listener covers idle clients only. A client checked out between two queries
  // (inside a transaction, say) whose backend is terminated (a restart, `drop database … with
  // (force)`) emits 'error' on itself; unheard, that would crash the process. Its next query
  // fails and the pool discards it, which is all we need.
  pool.on("connect", (client) => {
    client.on("error", () => {});
  });
  return pool;
}

export function createDatabase<Schema>(options: DatabaseOptions): Kysely<Schema> {
  return new Kysely<Schema>({ dialect: new PostgresDialect({ pool: createPool(options) }) });
}
