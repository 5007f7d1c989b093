import { type Kysely, sql } from "kysely";
import pg from "pg";
import { DEFAULT_CONNECT_TIMEOUT_MS } from "./database.ts";

/** Statement timeout of a lease session, ms: its statements are tiny, so a slow one means trouble. */
const LEASE_STATEMENT_TIMEOUT_MS = 5_000;

/**
 * One dedicated PostgreSQL session holding session-level advisory locks
 * (`pg_try_advisory_lock(classId, key)`), used as leases: PostgreSQL releases them when the
 * session ends, however it ends (a closed socket, a killed process, `pg_terminate_backend`).
 * Never a pool: a pool would silently replace a dropped connection by one that holds nothing.
 */
export type AdvisoryLockSession = {
  /** The session's backend pid: `pg_locks.pid` of the locks it holds. */
  readonly pid: number;
  /** `select pg_try_advisory_lock(classId, key)`: true when taken (or already held by this session). */
  tryLock(key: number): Promise<boolean>;
  /** `select pg_advisory_unlock(classId, key)`. */
  unlock(key: number): Promise<void>;
  /**
   * `select pg_advisory_lock_shared(ofClass, key)`: waits; several sessions may hold it at once
   * (a presence mark, say, in a class of its own).
   */
  lockShared(ofClass: number, key: number): Promise<void>;
  /**
   * Every granted advisory lock of `classId` in this database with the number of sessions
   * holding it: `select objid, count(*) from pg_locks where locktype = 'advisory' and …`.
   */
  holders(classId: number): Promise<Map<number, number>>;
  /** Resolves (never rejects) with the error once the connection failed or ended. */
  readonly lost: Promise<Error>;
  /** Ends the session: PostgreSQL releases every lock it held. */
  close(): Promise<void>;
};

/** Opens the session (`application_name` shows whose it is in `pg_stat_activity`). */
export async function openAdvisoryLockSession(options: {
  url: string;
  classId: number;
  applicationName: string;
}): Promise<AdvisoryLockSession> {
  const client = new pg.Client({
    connectionString: options.url,
    application_name: options.applicationName,
    statement_timeout: LEASE_STATEMENT_TIMEOUT_MS,
    query_timeout: LEASE_STATEMENT_TIMEOUT_MS + 1_000,
    connectionTimeoutMillis: DEFAULT_CONNECT_TIMEOUT_MS,
    // Notices a peer that vanished without closing the socket.
    keepAlive: true,
  });
  let markLost: (error: Error) => void = () => {};
  const lost = new Promise<Error>((resolve) => {
    markLost = resolve;
  });
  client.on("error", (error) => markLost(error));
  client.on("end", () => markLost(new Error("lease session ended")));
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }
  const classId = options.classId;
  const one = async <Row>(text: string, values: unknown[]): Promise<Row | undefined> =>
    (await client.query(text, values)).rows[0] as Row | undefined;
  const pid = (await one<{ pid: number }>("select pg_backend_pid() as pid", []))?.pid ?? 0;
  return {
    pid,
    lost,
    async tryLock(key) {
      const row = await one<{ taken: boolean }>("select pg_try_advisory_lock($1::int, $2::int) as taken", [
        classId,
        key,
      ]);
      return row?.taken === true;
    },
    async unlock(key) {
      await client.query("select pg_advisory_unlock($1::int, $2::int)", [classId, key]);
    },
    async lockShared(ofClass, key) {
      await client.query("select pg_advisory_lock_shared($1::int, $2::int)", [ofClass, key]);
    },
    async holders(ofClass) {
      const result = await client.query<{ key: number; sessions: number }>(
        `select objid::bigint as key, count(*)::int as sessions from pg_locks
          where locktype = 'advisory' and granted and objsubid = 2 and classid::bigint = $1
            and database = (select oid from pg_database where datname = current_database())
          group by objid`,
        [ofClass],
      );
      return new Map(result.rows.map((row) => [Number(row.key), row.sessions]));
    },
    async close() {
      await client.end().catch(() => {});
    },
  };
}

/**
 * Whether the session with backend `pid` still holds advisory lock (`classId`, `key`), asked
 * on any connection, e.g. inside the transaction that applies what the lock guards:
 *
 * ```sql
 * select exists (select 1 from pg_locks where locktype = 'advisory' and granted and objsubid = 2
 *   and classid::bigint = $1 and objid::bigint = $2 and pid = $3
 *   and database = (select oid from pg_database where datname = current_database())) as held
 * ```
 */
export async function advisoryLockHeld<Schema>(
  db: Kysely<Schema>,
  lock: { classId: number; key: number; pid: number },
): Promise<boolean> {
  const result = await sql<{ held: boolean }>`
    select exists (select 1 from pg_locks where locktype = 'advisory' and granted and objsubid = 2
      and classid::bigint = ${lock.classId} and objid::bigint = ${lock.key} and pid = ${lock.pid}
      and database = (select oid from pg_database where datname = current_database())) as held
  `.execute(db);
  return result.rows[0]?.held === true;
}
