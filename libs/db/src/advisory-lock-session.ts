import { type Kysely, type RawBuilder, sql } from "kysely";
import pg from "pg";
import { DEFAULT_CONNECT_TIMEOUT_MS } from "./database.ts";

/** Statement timeout of a lease session, ms: its statements are tiny, so a slow one means trouble. */
const LEASE_STATEMENT_TIMEOUT_MS = 5_000;
/** Most time a session with a time-to-live stays quiet before it sends `select 1`, ms. */
const MAX_KEEP_ALIVE_MS = 1_000;

/**
 * One backend, for good: a pid alone is reused by a later backend once its own has ended, so
 * the backend's start time (`pg_stat_activity.backend_start`) goes with it.
 */
export type BackendIdentity = {
  /** `pg_backend_pid()`: `pg_locks.pid` of the locks it holds. */
  readonly pid: number;
  /**
   * `pg_stat_activity.backend_start` in microseconds since the Unix epoch, as a decimal string
   * (exact, where a `Date` would drop the microseconds).
   */
  readonly backendStart: string;
};

/**
 * One dedicated PostgreSQL session holding session-level advisory locks
 * (`pg_try_advisory_lock(classId, key)`), used as leases: PostgreSQL releases them when the
 * session ends, however it ends (a closed socket, a killed process, `pg_terminate_backend`, the
 * session's time-to-live). Never a pool: a pool would silently replace a dropped connection by
 * one that holds nothing.
 */
export type AdvisoryLockSession = BackendIdentity & {
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

/**
 * Opens the session (`application_name` shows whose it is in `pg_stat_activity`).
 *
 * With `idleTimeoutMs`, the session has a time-to-live: PostgreSQL ends it, and frees its locks,
 * once it has sent nothing for that long (`idle_session_timeout`, PostgreSQL 14+), and the
 * session sends `select 1` itself whenever it has been quiet for `min(1 s, idleTimeoutMs / 4)`.
 * So the locks outlive neither a process that stopped running (SIGSTOP, a frozen container, an
 * event loop blocked that long) nor a host cut off from the server, whose socket TCP may keep
 * open for hours; while the process runs, however long the caller's own awaits take between
 * two of its queries, the session stays.
 *
 * ```sql
 * select set_config('idle_session_timeout', $idleTimeoutMs, false);
 * select pid, (extract(epoch from backend_start) * 1000000)::bigint::text as backend_start
 *   from pg_stat_activity where pid = pg_backend_pid()
 * ```
 */
export async function openAdvisoryLockSession(options: {
  url: string;
  classId: number;
  applicationName: string;
  /** The session's time-to-live without a query, ms; none when left out. */
  idleTimeoutMs?: number;
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
  let inFlight = 0;
  let lastSent = Date.now();
  // Every query goes through here, so the keep-alive knows when the session last spoke.
  const query = async <Row extends pg.QueryResultRow>(text: string, values: unknown[]) => {
    inFlight++;
    lastSent = Date.now();
    try {
      return await client.query<Row>(text, values);
    } finally {
      inFlight--;
      lastSent = Date.now();
    }
  };
  const one = async <Row extends pg.QueryResultRow>(text: string, values: unknown[]) =>
    (await query<Row>(text, values)).rows[0];
  let keepAlive: NodeJS.Timeout | undefined;
  let identity: BackendIdentity;
  try {
    await client.connect();
    if (options.idleTimeoutMs !== undefined) {
      await query("select set_config('idle_session_timeout', $1, false)", [String(options.idleTimeoutMs)]);
      const quietMs = Math.max(50, Math.min(MAX_KEEP_ALIVE_MS, Math.floor(options.idleTimeoutMs / 4)));
      keepAlive = setInterval(() => {
        if (inFlight > 0 || Date.now() - lastSent < quietMs) return;
        // Nothing to handle: a broken connection is reported by `lost`, and a ping that failed
        // otherwise (its `query_timeout`) still reached a live server.
        query("select 1", []).catch(() => {});
      }, quietMs);
      keepAlive.unref();
      void lost.then(() => clearInterval(keepAlive));
    }
    const row = await one<{ pid: number; backend_start: string }>(
      `select pid, (extract(epoch from backend_start) * 1000000)::bigint::text as backend_start
         from pg_stat_activity where pid = pg_backend_pid()`,
      [],
    );
    if (!row) throw new Error("the lease session's backend is missing from pg_stat_activity");
    identity = { pid: row.pid, backendStart: row.backend_start };
  } catch (error) {
    clearInterval(keepAlive);
    await client.end().catch(() => {});
    throw error;
  }
  const classId = options.classId;
  return {
    ...identity,
    lost,
    async tryLock(key) {
      const row = await one<{ taken: boolean }>("select pg_try_advisory_lock($1::int, $2::int) as taken", [
        classId,
        key,
      ]);
      return row?.taken === true;
    },
    async unlock(key) {
      await query("select pg_advisory_unlock($1::int, $2::int)", [classId, key]);
    },
    async lockShared(ofClass, key) {
      await query("select pg_advisory_lock_shared($1::int, $2::int)", [ofClass, key]);
    },
    async holders(ofClass) {
      const result = await query<{ key: number; sessions: number }>(
        `select objid::bigint as key, count(*)::int as sessions from pg_locks
          where locktype = 'advisory' and granted and objsubid = 2 and classid::bigint = $1
            and database = (select oid from pg_database where datname = current_database())
          group by objid`,
        [ofClass],
      );
      return new Map(result.rows.map((row) => [Number(row.key), row.sessions]));
    },
    async close() {
      clearInterval(keepAlive);
      await client.end().catch(() => {});
    },
  };
}

/** An advisory lock (`classId`, `key`) as held by one backend. */
export type HeldAdvisoryLock = BackendIdentity & { classId: number; key: number };

/**
 * Whether the backend `lock.pid` started at `lock.backendStart` still holds advisory lock
 * (`classId`, `key`), as an SQL expression for a query on any connection, e.g. inside the
 * transaction that applies what the lock guards. The start time tells a backend from a later
 * one given the same pid. `pg_stat_activity` shows `backend_start` only for sessions of the same
 * role (or to `pg_read_all_stats`): the lock's session and the asking one share a role.
 *
 * ```sql
 * exists (select 1 from pg_locks l join pg_stat_activity a on a.pid = l.pid
 *   where l.locktype = 'advisory' and l.granted and l.objsubid = 2
 *     and l.classid::bigint = $1 and l.objid::bigint = $2 and l.pid = $3
 *     and (extract(epoch from a.backend_start) * 1000000)::bigint = $4::bigint
 *     and l.database = (select oid from pg_database where datname = current_database()))
 * ```
 */
export function advisoryLockHeldExpression(lock: HeldAdvisoryLock): RawBuilder<boolean> {
  return sql<boolean>`exists (select 1 from pg_locks l join pg_stat_activity a on a.pid = l.pid
    where l.locktype = 'advisory' and l.granted and l.objsubid = 2
      and l.classid::bigint = ${lock.classId} and l.objid::bigint = ${lock.key} and l.pid = ${lock.pid}
      and (extract(epoch from a.backend_start) * 1000000)::bigint = ${lock.backendStart}::bigint
      and l.database = (select oid from pg_database where datname = current_database()))`;
}

/** `select <advisoryLockHeldExpression(lock)> as held`. */
export async function advisoryLockHeld<Schema>(db: Kysely<Schema>, lock: HeldAdvisoryLock): Promise<boolean> {
  const result = await sql<{ held: boolean }>`select ${advisoryLockHeldExpression(lock)} as held`.execute(db);
  return result.rows[0]?.held === true;
}
