import { Kysely, PostgresDialect, type PostgresPool } from "kysely";
import pg from "pg";
import { markingConnectionFailures } from "./database-unavailable.ts";

export { markingConnectionFailures, withMarkedQueryErrors } from "./database-unavailable.ts";

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
  /**
   * PostgreSQL's `statement_timeout` for every statement of the pool, ms (default 30,000): a
   * statement past it is cancelled (SQLSTATE 57014). The client also gives up waiting for an
   * answer 5 s after it (`query_timeout`), for a server that vanished without closing the socket.
   */
  statementTimeoutMs?: number;
  /** How long checking a client out may take, connecting included, ms (default 5,000). */
  connectTimeoutMs?: number;
};

export const DEFAULT_STATEMENT_TIMEOUT_MS = 30_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

export function createPool(options: DatabaseOptions): pg.Pool {
  const statementTimeout = options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 8,
    application_name: options.applicationName ?? "kasmap",
    idleTimeoutMillis: 30_000,
    statement_timeout: statementTimeout,
    query_timeout: statementTimeout + 5_000,
    connectionTimeoutMillis: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    // TCP keep-alive notices a peer that vanished (a partition) on idle pooled connections.
    keepAlive: true,
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

/**
 * A kysely instance over a pool with timeouts; errors that mean "the database cannot be reached"
 * are recognisable with `isDatabaseUnavailable` (readers answer them 503 with Retry-After).
 */
export function createDatabase<Schema>(options: DatabaseOptions): Kysely<Schema> {
  return databaseOverPool<Schema>(markingConnectionFailures(createPool(options)));
}

/**
 * A kysely instance over a pool the caller built (`markingConnectionFailures(createPool(…))`, or
 * one that picks among pools per checkout: the gateway's replica routing).
 */
export function databaseOverPool<Schema>(pool: PostgresPool): Kysely<Schema> {
  return new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
}
