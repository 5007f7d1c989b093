import type { PostgresPool, PostgresPoolClient } from "kysely";
import type pg from "pg";

/**
 * SQLSTATE classes and codes that mean "the database cannot serve now", not "this statement is
 * wrong": 08 connection exception, 53 insufficient resources (too many connections, disk full),
 * 57P01–57P03 admin shutdown / crash shutdown / cannot connect now, 57014 a statement cancelled
 * by `statement_timeout`, 3D000 the database is gone. Readers answer these 503 with Retry-After.
 */
const UNAVAILABLE_SQLSTATE_CLASSES = new Set(["08", "53"]);
const UNAVAILABLE_SQLSTATES = new Set(["57P01", "57P02", "57P03", "57014", "3D000"]);

/** Marks an error raised while reaching the server rather than by a statement it ran. */
const CONNECTION_FAILURE = Symbol.for("kasmap.db.connectionFailure");

/**
 * True when `error` means the database could not be reached or could not serve: a connection
 * that failed or timed out (marked by the pool wrapper below), a socket error from Node, or one
 * of the SQLSTATEs above. A constraint violation or a syntax error is not an outage.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  if (CONNECTION_FAILURE in error) return true;
  const code = "code" in error ? (error as { code: unknown }).code : undefined;
  if (typeof code !== "string") return false;
  if (/^[0-9A-Z]{5}$/.test(code)) {
    return UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_SQLSTATE_CLASSES.has(code.slice(0, 2));
  }
  // Node's socket errors: ECONNREFUSED, ECONNRESET, ETIMEDOUT, ENOTFOUND, EPIPE, …
  return /^E[A-Z]+$/.test(code);
}

function markConnectionFailure(error: unknown): unknown {
  if (typeof error === "object" && error !== null && !(CONNECTION_FAILURE in error)) {
    Object.defineProperty(error, CONNECTION_FAILURE, { value: true });
  }
  return error;
}

/**
 * The pool as kysely sees it, marking (not replacing) errors that come from the connection
 * rather than from PostgreSQL: every failure to check a client out (refused, timed out, auth
 * server gone), and query errors without a SQLSTATE — pg raises those when the socket closes
 * or `query_timeout` passes. Errors keep their identity and `code`, so callers that classify
 * SQLSTATEs (the projection's dead-letter rule) see exactly what they saw before.
 */
export function markingConnectionFailures(pool: pg.Pool): PostgresPool {
  return {
    async connect() {
      const client = await pool.connect().catch((error: unknown) => {
        throw markConnectionFailure(error);
      });
      return withMarkedQueryErrors(client);
    },
    end: () => pool.end(),
  };
}

/** A checked-out client as kysely sees it, its connection failures marked (`markingConnectionFailures`). */
export function withMarkedQueryErrors(client: pg.PoolClient): PostgresPoolClient {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  const marked = (...args: unknown[]): unknown => {
    const result = query(...args);
    if (!(result instanceof Promise)) return result;
    return result.catch((error: unknown) => {
      const hasSqlState =
        typeof error === "object" && error !== null && "code" in error && typeof error.code === "string";
      throw hasSqlState ? error : markConnectionFailure(error);
    });
  };
  return { query: marked as PostgresPoolClient["query"], release: () => client.release() };
}
