import { type Bus, publishEvent, unpublishableReason } from "@kasmap/bus";
import { isKasmapError, type KasmapEvent, KasmapEventSchema, type StreamPosition } from "@kasmap/contracts";
import type { Logger } from "@kasmap/logging";
import { type Kysely, sql } from "kysely";
import { z } from "zod";

const BATCH = 500;

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
};

export type OutboxPublisher = {
  /** Publishes every unpublished outbox row, in id order; resolves when none is left (or NATS failed). */
  flush(): Promise<void>;
  /** Where the given outbox rows were stored, for those already published, in id order. */
  positionsOf(ids: number[]): Promise<StreamPosition[]>;
  /** Flushes now and then every `intervalMs`, until `stop()`; catches up after a crash. */
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
 */
export function createOutboxPublisher<DB>(
  db: Kysely<DB>,
  bus: Bus,
  logger: Logger,
  table: OutboxTable,
  options: OutboxPublisherOptions = {},
): OutboxPublisher {
  const outbox = sql.table(table.name);
  // In-process flushes run one after another; the advisory lock orders processes.
  let chain: Promise<void> = Promise.resolve();
  let setAsideTotal = 0;

  async function publishBatch(): Promise<number> {
    return db.transaction().execute(async (tx) => {
      await sql`select pg_advisory_xact_lock(${table.lock.classId}::int, ${table.lock.key}::int)`.execute(tx);
      const { rows } = await sql<{ id: number; event: unknown }>`
        select id, event from ${outbox}
        where published_at is null and set_aside_at is null
        order by id limit ${BATCH}`.execute(tx);
      // Marked in one statement at the end (or where the batch stops): one round trip, not one
      // per row, in the same transaction.
      const published: Array<{ id: number; stream: string; seq: number }> = [];
      const markPublished = async (): Promise<void> => {
        if (published.length === 0) return;
        await sql`update ${outbox} o set published_at = now(), stream = p.stream, seq = p.seq
          from unnest(${published.map((r) => r.id)}::bigint[], ${published.map((r) => r.stream)}::text[],
            ${published.map((r) => r.seq)}::bigint[]) as p(id, stream, seq)
          where o.id = p.id`.execute(tx);
      };
      for (const row of rows) {
        let sent: { event: KasmapEvent; position: Awaited<ReturnType<typeof publishEvent>> };
        try {
          const event = KasmapEventSchema.parse(row.event);
          sent = { event, position: await publishEvent(bus, event, { maxAttempts: 5 }) };
        } catch (error) {
          const permanent = permanentFailure(error);
          if (permanent !== null) {
            await sql`update ${outbox} set set_aside_at = now(), set_aside_reason = ${permanent}
              where id = ${row.id}`.execute(tx);
            setAsideTotal++;
            logger.error(
              { err: error, outbox: table.name, outbox_id: row.id, reason: permanent },
              "outbox row can never be published; set aside, publishing the rows behind it",
            );
            continue;
          }
          // End the batch but commit the rows marked so far: re-publishing them later, after
          // the server's duplicate window, would put them in the stream twice.
          logger.warn(
            { err: error, outbox: table.name, outbox_id: row.id },
            "outbox publish failed; the relay retries",
          );
          await markPublished();
          return 0;
        }
        published.push({ id: row.id, stream: sent.position.stream, seq: sent.position.seq });
        options.onPublished?.(sent.event);
      }
      await markPublished();
      return rows.length;
    });
  }

  async function drain(): Promise<void> {
    try {
      // A full batch means more may be waiting.
      let published: number;
      do published = await publishBatch();
      while (published === BATCH);
    } catch (error) {
      logger.warn({ err: error, outbox: table.name }, "outbox publish failed; the relay retries");
    }
  }

  const flush = (): Promise<void> => {
    chain = chain.then(drain);
    return chain;
  };

  return {
    flush,
    get setAsideTotal() {
      return setAsideTotal;
    },
    status: () => outboxStatusOf(db, table),
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
      return {
        async stop() {
          stopped = true;
          clearTimeout(timer);
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
