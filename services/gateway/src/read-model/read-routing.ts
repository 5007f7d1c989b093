import type { ReadModelDatabase } from "@kasmap/db";
import { databaseOverPool, withMarkedQueryErrors } from "@kasmap/db";
import { type PostgresPool, type PostgresPoolClient, sql } from "kysely";
import type pg from "pg";
import type { ReadModel } from "./registry-queries.ts";

/**
 * Where the gateway's reads go when the read model has streaming replicas
 * (`DATABASE_READ_URL`): each read's connection is checked out of the replica pool and used only
 * if THAT connection's server has replayed the primary's WAL past the last write this gateway
 * acknowledged; else it goes back and the read takes a primary connection. So a caller never
 * reads older data than a write the gateway answered for, however far a replica lags — also
 * when `DATABASE_READ_URL` is a service that spreads connections over several standbys (one
 * caught up, one behind) or reconnects to another one.
 *
 * A connection's position is a lower bound that is only ever raised (replay moves forward on
 * one server): `select pg_last_wal_replay_lsn()` on that connection, asked when the connection
 * is known to be behind, at most every `refreshMs` per connection.
 */
export type ReadRouting = {
  /** The read model for the next read (the replica-routing handle, or the primary). */
  current(): ReadModel;
  /** After a write was applied and before it is acknowledged: `select pg_current_wal_lsn()` on the primary. */
  recordWrite(): Promise<void>;
  /** Reads (connections checked out) served by a replica and by the primary since start. */
  readonly counts: { replica: number; primary: number };
};

/** `X/Y` (two hex halves, PostgreSQL's `pg_lsn` text) as a number of bytes. */
export function parseLsn(text: string): bigint {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
  if (!match) throw new Error(`not a pg_lsn: ${text}`);
  return (BigInt(`0x${match[1]}`) << 32n) + BigInt(`0x${match[2]}`);
}

/** The longest the replica's position goes unasked while it is behind, ms. */
const DEFAULT_REFRESH_MS = 5;
/**
 * How long a read waits for a NEW replica connection before it reads the primary, ms; and how
 * long reads then go straight to the primary before the replica is tried again (a replica that
 * is down or unreachable must not add its connect timeout to every read).
 */
const REPLICA_CONNECT_WAIT_MS = 250;
const REPLICA_RETRY_AFTER_MS = 1_000;

/** Reads from `primary` only: no replica configured. */
export function primaryOnly(primary: ReadModel): ReadRouting {
  const counts = { replica: 0, primary: 0 };
  return {
    current() {
      counts.primary += 1;
      return primary;
    },
    recordWrite: async () => {},
    counts,
  };
}

/** What is known of one replica connection's server: its replay position and when it was asked. */
type ReplayKnown = { lsn: bigint; askedAt: number };

/**
 * Reads through `replica` (a pool on `DATABASE_READ_URL`, its own) when the connection checked
 * out has replayed past the last acknowledged write, else through `primaryPool` (the pool
 * `primary` reads through). A replica that is down, unreachable or slow to give a connection
 * (`REPLICA_CONNECT_WAIT_MS`, then skipped for `REPLICA_RETRY_AFTER_MS`), a replica pool whose
 * connections are all busy, or a server that is not a standby (`pg_last_wal_replay_lsn()` null)
 * sends the read to the primary: the replica never adds its wait to a read.
 */
export function replicaRouting(
  primary: ReadModel,
  primaryPool: PostgresPool,
  replica: pg.Pool,
  refreshMs = DEFAULT_REFRESH_MS,
): ReadRouting {
  const counts = { replica: 0, primary: 0 };
  /** The primary's LSN after the last acknowledged write; 0 before any. */
  let required = 0n;
  /** Per replica connection (one server for its life): what it had replayed when last asked. */
  const known = new WeakMap<pg.PoolClient, ReplayKnown>();

  /** Whether `client`'s server has replayed up to `needed`, asking it when not known to. */
  const caughtUp = async (client: pg.PoolClient, needed: bigint): Promise<boolean> => {
    const last = known.get(client);
    if (last && last.lsn >= needed) return true;
    if (last && Date.now() - last.askedAt < refreshMs) return false;
    const { rows } = await client.query<{ lsn: string | null }>(
      "select pg_last_wal_replay_lsn()::text as lsn",
    );
    const text = rows[0]?.lsn;
    // null: not a standby (or replay never started); the primary answers until it is one.
    const lsn = text ? parseLsn(text) : -1n;
    const raised = last && last.lsn > lsn ? last.lsn : lsn;
    known.set(client, { lsn: raised, askedAt: Date.now() });
    return raised >= needed;
  };

  const primaryRead = (): Promise<PostgresPoolClient> => {
    counts.primary += 1;
    return primaryPool.connect();
  };

  /** Until when reads skip the replica (it failed, or was slow, to give a connection). */
  let replicaDownUntil = 0;
  const maxReplicaConnections = replica.options.max ?? 10;

  /**
   * A replica connection without waiting on the replica: an idle one, or a new one within
   * `REPLICA_CONNECT_WAIT_MS`; null when every connection is busy (the read would queue behind
   * them), the replica failed or was slow lately, or it fails or is slow now.
   */
  const replicaConnection = async (): Promise<pg.PoolClient | null> => {
    if (Date.now() < replicaDownUntil) return null;
    if (replica.idleCount === 0 && replica.totalCount >= maxReplicaConnections) return null;
    const connecting = replica.connect();
    let timer: NodeJS.Timeout | undefined;
    const slow = new Promise<"slow">((resolve) => {
      timer = setTimeout(() => resolve("slow"), REPLICA_CONNECT_WAIT_MS);
    });
    try {
      const first = await Promise.race([connecting, slow]);
      if (first !== "slow") return first;
      // Given up on: the connection, if it comes, goes back to the pool for later reads.
      connecting.then(
        (late) => late.release(),
        () => {},
      );
    } catch {
      // Refused, or the connect timeout passed: the replica is down or unreachable.
    } finally {
      clearTimeout(timer);
    }
    replicaDownUntil = Date.now() + REPLICA_RETRY_AFTER_MS;
    return null;
  };

  const routed: PostgresPool = {
    async connect() {
      const needed = required;
      const client = await replicaConnection();
      if (client === null) return primaryRead();
      try {
        if (await caughtUp(client, needed)) {
          counts.replica += 1;
          return withMarkedQueryErrors(client);
        }
        client.release();
      } catch (error) {
        // The connection failed asking: drop it from the pool; the primary answers.
        client.release(error instanceof Error ? error : true);
      }
      return primaryRead();
    },
    // The pools are the caller's to end (the replica's with `replica.end()`).
    end: async () => {},
  };
  const db = databaseOverPool<ReadModelDatabase>(routed);

  return {
    current: () => db,
    async recordWrite() {
      const { rows } = await sql<{ lsn: string }>`select pg_current_wal_lsn()::text as lsn`.execute(primary);
      const lsn = parseLsn(rows[0]?.lsn ?? "0/0");
      if (lsn > required) required = lsn;
    },
    counts,
  };
}
