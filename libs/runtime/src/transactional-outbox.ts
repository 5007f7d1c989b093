import {
  type Bus,
  backoffDelayMs,
  type EncodedEvent,
  encodeEvent,
  publishEventsInOrder,
  sleep,
  unpublishableReason,
} from "@kasmap/bus";
import { isKasmapError, type KasmapEvent, type StreamPosition } from "@kasmap/contracts";
import type { Logger } from "@kasmap/logging";
import { type Kysely, sql } from "kysely";
import { z } from "zod";
import { startPeriodicTask } from "./periodic-task.ts";

const BATCH = 500;
/** Publishes of a batch awaiting their acks at once (`publishEventsInOrder`). */
export const PUBLISH_WINDOW = 128;
/** Batches in a row that settle no row (NATS away) before a flush leaves the rest to the relay. */
const MAX_ROUNDS_WITHOUT_PROGRESS = 5;
/** Published rows one prune statement looks at, and so deletes at most (one transaction each). */
export const PRUNE_BATCH = 1_000;
/**
 * `OutboxPublisherOptions.retentionMs`' default: one hour. Nothing reads a published row after
 * the command that wrote it had its positions (`positionsOf`, right after its flush), and a row
 * the server acked but that was not marked published is pending, so never pruned: it is
 * published again, and the server drops the copy inside the streams' two-minute duplicate window.
 */
export const DEFAULT_OUTBOX_RETENTION_MS = 60 * 60 * 1_000;
/** `OutboxPublisherOptions.pruneIntervalMs`' default: a minute. */
export const DEFAULT_OUTBOX_PRUNE_INTERVAL_MS = 60_000;

type BatchOutcome = {
  /** Rows the batch read. */
  rows: number;
  /** Rows published or set aside. */
  settled: number;
  /** Whether rows were left pending: the batch stopped at a failure. */
  stopped: boolean;
  /** The first row that failed in a way that may pass, if one did. */
  failure: { id: number; error: unknown } | null;
};

/**
 * A service's outbox table and the advisory lock that orders its publishing. The table has the
 * outbox columns:
 *
 * ```sql
 * id bigint generated always as identity primary key, event jsonb not null,
 * created_at timestamptz not null default now(), published_at timestamptz, stream text, seq bigint,
 * set_aside_at timestamptz, set_aside_reason text
 * -- and the partial indexes: (id) where published_at is null and set_aside_at is null;
 * --                          (id) where set_aside_at is not null
 * ```
 */
export type OutboxTable = {
  /** Schema-qualified, e.g. `authz.outbox`. */
  name: string;
  /** `pg_advisory_xact_lock(classId, key)`, held while a batch is published. */
  lock: { classId: number; key: number };
};

/** `outbox.status`'s answer: counts, and the age of the oldest pending row in seconds. */
export type OutboxStatus = { pending: number; oldest_pending_age_seconds: number | null; set_aside: number };

export type OutboxPublisherOptions = {
  /**
   * Called with each event the server acknowledged, for metrics. A crash before the batch's
   * transaction commits publishes the row again (the server drops the duplicate): it may be
   * counted twice then, never missed.
   */
  onPublished?(event: KasmapEvent): void;
  /**
   * How long a published row is kept after its publication (`published_at`), ms; then
   * `prunePublished` (and the relay, every `pruneIntervalMs`) deletes it. Default
   * `DEFAULT_OUTBOX_RETENTION_MS` (1 hour); `Infinity` keeps every row. An outbox whose published
   * rows something still reads keeps them as long as that reader needs them (the alert outbox:
   * `alertOutboxRetentionMs`). Unpublished rows, pending or set aside, are never deleted.
   */
  retentionMs?: number;
  /** How often the relay prunes published rows, ms; default `DEFAULT_OUTBOX_PRUNE_INTERVAL_MS`. */
  pruneIntervalMs?: number;
};

export type OutboxPublisher = {
  /** Publishes every unpublished outbox row, in id order; resolves when none is left (or NATS failed). */
  flush(): Promise<void>;
  /** Where the given outbox rows were stored, for those already published, in id order. */
  positionsOf(ids: number[]): Promise<StreamPosition[]>;
  /**
   * Deletes the published rows older than the retention, `PRUNE_BATCH` at a time, each batch its
   * own transaction, until none is left (or only rows another replica is deleting); resolves with
   * how many it deleted.
   */
  prunePublished(): Promise<number>;
  /**
   * Flushes now and then every `intervalMs`, until `stop()`; catches up after a crash. Prunes
   * published rows every `pruneIntervalMs` meanwhile (`prunePublished`).
   */
  startRelay(intervalMs?: number): { stop(): Promise<void> };
  /** Counts from the table (so across restarts and replicas), for readiness and metrics. */
  status(): Promise<OutboxStatus>;
  /** Rows this process set aside since it started. */
  readonly setAsideTotal: number;
};

/**
 * The publishing half of a transactional outbox: the service writes each event as a row of
 * `table` in the transaction of the change it announces; this publishes the rows. Rows are
 * published in id order under a transaction-level advisory lock, so two replicas (or the relay
 * and a command) never publish out of order. `Nats-Msg-Id` = event id: a row re-published after
 * a crash between publish and marking is dropped by the server inside the duplicate window,
 * which answers with the original sequence.
 *
 * A row that can never be published — its event does not fit the server's `max_payload` or
 * the stream's `max_msg_size`, or it is no longer a valid event — is set aside (`set_aside_at`,
 * `set_aside_reason`, an error log line and `setAsideTotal`) and the rows behind it go on: one
 * bad row must not hold back the rows behind it (a membership downgrade, a token revocation).
 * Any other failure (NATS away) ends the batch; the relay retries in order.
 *
 * A batch's rows are published `PUBLISH_WINDOW` at a time awaiting their acks together, not
 * one round trip each (`publishEventsInOrder`): each row after the first of its stream in the
 * batch is stored only right behind the row before it (`Nats-Expected-Last-Msg-Id`), so a
 * failure in the middle of a window cannot put a later row before an earlier one. The rows acked
 * are marked, the others stay pending and are published again first.
 *
 * Published rows are deleted once older than `options.retentionMs` (`prunePublished`), so the
 * table holds the pending and set-aside rows and the last retention's history, not every event
 * ever published.
 */
export function createOutboxPublisher<DB>(
  db: Kysely<DB>,
  bus: Bus,
  logger: Logger,
  table: OutboxTable,
  options: OutboxPublisherOptions = {},
): OutboxPublisher {
  const retentionMs = options.retentionMs ?? DEFAULT_OUTBOX_RETENTION_MS;
  const pruneIntervalMs = options.pruneIntervalMs ?? DEFAULT_OUTBOX_PRUNE_INTERVAL_MS;
  if (!(retentionMs > 0)) throw new RangeError(`outbox retention must be above 0 ms, got ${retentionMs}`);
  if (!(pruneIntervalMs > 0 && Number.isFinite(pruneIntervalMs))) {
    throw new RangeError(`outbox prune interval must be a positive number of ms, got ${pruneIntervalMs}`);
  }
  const outbox = sql.table(table.name);
  // In-process flushes run one after another; the advisory lock orders processes.
  let chain: Promise<void> = Promise.resolve();
  let setAsideTotal = 0;

  /**
   * One transaction: the next `BATCH` pending rows, published in id order with up to
   * `PUBLISH_WINDOW` awaiting their acks (`publishEventsInOrder`), then the rows acked marked
   * and the unpublishable ones set aside, in one commit. It stops at the first failure that may
   * pass: the rows not acked stay pending and go first in the next batch.
   */
  async function publishBatch(): Promise<BatchOutcome> {
    return db.transaction().execute(async (tx) => {
      await sql`select pg_advisory_xact_lock(${table.lock.classId}::int, ${table.lock.key}::int)`.execute(tx);
      const { rows } = await sql<{ id: number; event: unknown }>`
        select id, event from ${outbox}
        where published_at is null and set_aside_at is null
        order by id limit ${BATCH}`.execute(tx);
      const setAside: Array<{ id: number; reason: string; error: unknown }> = [];
      const sending: Array<{ id: number; encoded: EncodedEvent }> = [];
      let failure: { id: number; error: unknown } | null = null;
      for (const row of rows) {
        try {
          sending.push({ id: row.id, encoded: encodeEvent(bus, row.event) });
        } catch (error) {
          const reason = permanentFailure(error);
          if (reason === null) {
            failure = { id: row.id, error };
            break;
          }
          setAside.push({ id: row.id, reason, error });
        }
      }
      const outcomes = await publishEventsInOrder(
        bus,
        sending.map((row) => row.encoded),
        { window: PUBLISH_WINDOW },
      );
      const published: Array<{ id: number; stream: string; seq: number }> = [];
      for (const [index, outcome] of outcomes.entries()) {
        const row = sending[index];
        if (!row) continue;
        if (outcome.kind === "acked") {
          published.push({ id: row.id, stream: outcome.position.stream, seq: outcome.position.seq });
          options.onPublished?.(row.encoded.event);
          continue;
        }
        if (outcome.kind === "unsent") continue;
        const reason = permanentFailure(outcome.error);
        if (reason !== null) setAside.push({ id: row.id, reason, error: outcome.error });
        else if (failure === null || row.id < failure.id) failure = { id: row.id, error: outcome.error };
      }
      for (const row of setAside) {
        await sql`update ${outbox} set set_aside_at = now(), set_aside_reason = ${row.reason}
          where id = ${row.id}`.execute(tx);
        setAsideTotal++;
        logger.error(
          { err: row.error, outbox: table.name, outbox_id: row.id, reason: row.reason },
          "outbox row can never be published; set aside, publishing the rows behind it",
        );
      }
      // Every row acked is marked, in one statement (one round trip, not one per row), even
      // when the batch stopped: re-published after the server's duplicate window, it would be
      // in the stream twice. The chain of expectations makes each one follow every earlier row
      // of its stream, so a row before it that failed was stored, or is refused behind it.
      if (published.length > 0) {
        await sql`update ${outbox} o set published_at = now(), stream = p.stream, seq = p.seq
          from unnest(${published.map((r) => r.id)}::bigint[], ${published.map((r) => r.stream)}::text[],
            ${published.map((r) => r.seq)}::bigint[]) as p(id, stream, seq)
          where o.id = p.id`.execute(tx);
      }
      const settled = published.length + setAside.length;
      return { rows: rows.length, settled, stopped: settled < rows.length, failure };
    });
  }

  /**
   * Batches until none is left. A batch that stopped on a failure is followed at once by the
   * next when it settled rows, and otherwise after a backoff, `MAX_ROUNDS_WITHOUT_PROGRESS`
   * times at most: then the relay retries later.
   */
  async function drain(): Promise<void> {
    try {
      for (let stalled = 0; ; ) {
        const batch = await publishBatch();
        if (!batch.stopped) {
          // A full batch means more may be waiting.
          if (batch.rows < BATCH) return;
          continue;
        }
        stalled = batch.settled > 0 ? 0 : stalled + 1;
        if (stalled >= MAX_ROUNDS_WITHOUT_PROGRESS || bus.nc.isClosed()) {
          logger.warn(
            { err: batch.failure?.error, outbox: table.name, outbox_id: batch.failure?.id },
            "outbox publish failed; the relay retries",
          );
          return;
        }
        if (stalled > 0) await sleep(backoffDelayMs(stalled, 100, 5_000));
      }
    } catch (error) {
      logger.warn({ err: error, outbox: table.name }, "outbox publish failed; the relay retries");
    }
  }

  const flush = (): Promise<void> => {
    chain = chain.then(drain);
    return chain;
  };

  /**
   * One statement, one transaction: of the `PRUNE_BATCH` published rows with the lowest ids, those
   * published before `now() - retention`. No index on `published_at` is needed: rows are published
   * in id order, so the oldest are the lowest, and the primary-key scan stops after `PRUNE_BATCH`
   * published rows however long the history behind them (measured: 1.2 ms with nothing to delete
   * in 300,000 rows, 3.7 ms deleting 1,000). `skip locked`: a replica pruning at the same time
   * skips the rows another is deleting instead of waiting for them.
   *
   * ```sql
   * with head as (select id from <table> where published_at is not null order by id limit 1000),
   *   expired as (select o.id from <table> o join head using (id)
   *     where o.published_at < now() - make_interval(secs => $1) for update of o skip locked)
   * delete from <table> where id in (select id from expired)
   * ```
   */
  async function pruneBatch(): Promise<number> {
    const result = await sql`
      with head as (
        select id from ${outbox} where published_at is not null order by id limit ${PRUNE_BATCH}
      ), expired as (
        select o.id from ${outbox} o join head using (id)
        where o.published_at < now() - make_interval(secs => ${retentionMs / 1_000}::float8)
        for update of o skip locked
      )
      delete from ${outbox} where id in (select id from expired)`.execute(db);
    return Number(result.numAffectedRows ?? 0n);
  }

  /**
   * Batches until one deletes none, or `stopped()` says to stop. Not until one deletes less than a
   * full batch: a batch of which another replica locked part deletes less, and rows may remain.
   */
  async function pruneUntil(stopped: () => boolean): Promise<number> {
    if (retentionMs === Number.POSITIVE_INFINITY) return 0;
    let pruned = 0;
    for (;;) {
      const deleted = await pruneBatch();
      pruned += deleted;
      if (deleted === 0 || stopped()) return pruned;
    }
  }

  return {
    flush,
    get setAsideTotal() {
      return setAsideTotal;
    },
    status: () => outboxStatusOf(db, table),
    prunePublished: () => pruneUntil(() => false),
    async positionsOf(ids) {
      if (ids.length === 0) return [];
      const { rows } = await sql<{ stream: string | null; seq: number | null }>`
        select stream, seq from ${outbox}
        where id = any(${sql.val(ids)}::bigint[]) and published_at is not null
        order by id`.execute(db);
      return rows.flatMap((r) =>
        r.stream !== null && r.seq !== null ? [{ stream: r.stream, seq: r.seq }] : [],
      );
    },
    startRelay(intervalMs = 1_000) {
      let stopped = false;
      let timer: NodeJS.Timeout | undefined;
      const tick = async () => {
        if (stopped) return;
        await flush();
        if (!stopped) timer = setTimeout(tick, intervalMs);
      };
      const first = tick();
      // Apart from the flushes: a long prune must not delay publishing.
      const pruning = startPeriodicTask(async () => {
        try {
          const pruned = await pruneUntil(() => stopped);
          if (pruned > 0) logger.debug({ outbox: table.name, pruned }, "published outbox rows pruned");
        } catch (error) {
          logger.warn({ err: error, outbox: table.name }, "outbox prune failed; the relay tries again");
        }
      }, pruneIntervalMs);
      return {
        async stop() {
          stopped = true;
          clearTimeout(timer);
          await pruning.stop();
          await first;
          await chain;
        },
      };
    },
  };
}

/**
 * Counts from the outbox table (so across restarts and replicas). Each count reads one partial
 * index (pending rows, set-aside rows), never the published history.
 */
export async function outboxStatusOf<DB>(
  db: Kysely<DB>,
  table: Pick<OutboxTable, "name">,
): Promise<OutboxStatus> {
  const outbox = sql.table(table.name);
  const pending = await sql<{ rows: number; oldest: number | null }>`
    select count(*)::int as rows, extract(epoch from now() - min(created_at))::float8 as oldest
    from ${outbox} where published_at is null and set_aside_at is null`.execute(db);
  const setAside = await sql<{ rows: number }>`
    select count(*)::int as rows from ${outbox} where set_aside_at is not null`.execute(db);
  const oldest = pending.rows[0]?.oldest ?? null;
  return {
    pending: pending.rows[0]?.rows ?? 0,
    oldest_pending_age_seconds: oldest === null ? null : Math.max(0, Number(oldest)),
    set_aside: setAside.rows[0]?.rows ?? 0,
  };
}

/**
 * Why `error` means the row can never be published, or null when a retry may succeed. A row
 * whose event no longer parses or that publishing refuses as invalid is permanent too (a
 * schema change without a fallback, or a publisher bug).
 */
function permanentFailure(error: unknown): string | null {
  const tooLarge = unpublishableReason(error);
  if (tooLarge !== null) return tooLarge;
  if (error instanceof z.ZodError) return `not a valid event: ${z.prettifyError(error).slice(0, 500)}`;
  if (isKasmapError(error, "validation_failed")) return `refused as invalid: ${error.message.slice(0, 500)}`;
  return null;
}
