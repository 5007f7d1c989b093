import { sql } from "kysely";
import type { ReadModel } from "./registry-queries.ts";

/**
 * Where the gateway's reads go when the read model has a streaming replica
 * (`DATABASE_READ_URL`): to the replica once it has replayed the primary's WAL past the last
 * write this gateway acknowledged, else to the primary. So a caller never reads older data
 * than a write the gateway answered for, however far the replica lags.
 *
 * The replica's position is a lower bound that is only ever raised (replay moves forward):
 * `select pg_last_wal_replay_lsn()` asked at most every `refreshMs` while it is behind.
 */
export type ReadRouting = {
  /** The handle for the next read: the replica when it is known to be caught up, else the primary. */
  current(): ReadModel;
  /** After a write was applied and before it is acknowledged: `select pg_current_wal_lsn()` on the primary. */
  recordWrite(): Promise<void>;
  /** Reads sent to the replica and to the primary since start (for metrics and tests). */
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

export function replicaRouting(
  primary: ReadModel,
  replica: ReadModel,
  refreshMs = DEFAULT_REFRESH_MS,
): ReadRouting {
  const counts = { replica: 0, primary: 0 };
  /** The primary's LSN after the last acknowledged write; 0 before any. */
  let required = 0n;
  /** What the replica had replayed when last asked (never lowered). */
  let replayed = -1n;
  let refreshing: Promise<void> | null = null;
  let lastRefreshAt = 0;

  const refresh = () => {
    if (refreshing || Date.now() - lastRefreshAt < refreshMs) return;
    lastRefreshAt = Date.now();
    refreshing = (async () => {
      try {
        const { rows } = await sql<{
          lsn: string | null;
        }>`select pg_last_wal_replay_lsn()::text as lsn`.execute(replica);
        const lsn = rows[0]?.lsn;
        // null: not a standby (or replay never started); the primary answers until it is one.
        if (lsn) replayed = replayed > parseLsn(lsn) ? replayed : parseLsn(lsn);
      } catch {
        // The replica is down or unreachable: reads keep going to the primary.
      } finally {
        refreshing = null;
      }
    })();
  };

  return {
    current() {
      if (replayed >= required) {
        counts.replica += 1;
        return replica;
      }
      refresh();
      counts.primary += 1;
      return primary;
    },
    async recordWrite() {
      const { rows } = await sql<{ lsn: string }>`select pg_current_wal_lsn()::text as lsn`.execute(primary);
      const lsn = parseLsn(rows[0]?.lsn ?? "0/0");
      if (lsn > required) required = lsn;
      refresh();
    },
    counts,
  };
}
