import { type Bus, publishEvent, unpublishableReason } from "@kasmap/bus";
import { isKasmapError, KasmapEventSchema, type StreamPosition } from "@kasmap/contracts";
import type { Logger } from "@kasmap/logging";
import { sql } from "kysely";
import { z } from "zod";
import { LOCK_CLASS, OUTBOX_LOCK } from "./locks.ts";
import type { AuthzDb, AuthzTx } from "./store/schema.ts";

const BATCH = 500;

/** How many rows are waiting to be published, and how many were set aside for good. */
/** `outbox.status`'s answer: counts, and the age of the oldest pending row in seconds. */
export type OutboxStatus = { pending: number; oldest_pending_age_seconds: number | null; set_aside: number };

export type OutboxPublisher = {
  /** Publishes every unpublished outbox row, in id order; resolves when none is left (or NATS failed). */
  flush(): Promise<void>;
  /** Where the given outbox rows were stored, for those already published, in id order. */
  positionsOf(ids: number[]): Promise<StreamPosition[]>;
  /** Flushes now and then every `intervalMs`, until `stop()`; catches up after a crash. */
  startRelay(intervalMs?: number): { stop(): Promise<void> };
  /** Counts from the table (so across restarts and replicas), for readiness and metrics. */
  status(): Promise<OutboxStatus>;
  /** Rows this process set aside since it started (`kasmap_authz_outbox_set_aside_total`). */
  readonly setAsideTotal: number;
};

/**
 * The publishing half of the transactional outbox. Rows are published in id order under a
 * transaction-level advisory lock, so two replicas (or the relay and a command) never publish
 * out of order. `Nats-Msg-Id` = event id: a row re-published after a crash between publish and
 * marking is dropped by the server inside the duplicate window, which answers with the original
 * sequence.
 *
 * A row that can never be published — its event does not fit the server's `max_payload` or
 * the stream's `max_msg_size`, or it is no longer a valid event — is set aside (`set_aside_at`,
 * `set_aside_reason`, an error log line and `setAsideTotal`) and the rows behind it go on: one
 * bad row must not hold back a later membership downgrade or token revocation. Any other
 * failure (NATS away) ends the batch; the relay retries in order.
 */
export function createOutboxPublisher(db: AuthzDb, bus: Bus, logger: Logger): OutboxPublisher {
  // In-process flushes run one after another; the advisory lock orders processes.
  let chain: Promise<void> = Promise.resolve();

  let setAsideTotal = 0;

  async function publishBatch(): Promise<number> {
    return db.transaction().execute(async (tx) => {
      await sql`select pg_advisory_xact_lock(${LOCK_CLASS}::int, ${OUTBOX_LOCK}::int)`.execute(tx);
      const rows = await tx
        .selectFrom("authz.outbox")
        .select(["id", "event"])
        .where("published_at", "is", null)
        .where("set_aside_at", "is", null)
        .orderBy("id")
        .limit(BATCH)
        .execute();
      // Marked in one statement at the end (or where the batch stops): one round trip, not one
      // per row, in the same transaction as before.
      const published: PublishedRow[] = [];
      for (const row of rows) {
        let position: Awaited<ReturnType<typeof publishEvent>>;
        try {
          position = await publishEvent(bus, KasmapEventSchema.parse(row.event), { maxAttempts: 5 });
        } catch (error) {
          const permanent = permanentFailure(error);
          if (permanent !== null) {
            await tx
              .updateTable("authz.outbox")
              .set({ set_aside_at: new Date(), set_aside_reason: permanent })
              .where("id", "=", row.id)
              .execute();
            setAsideTotal++;
            logger.error(
              { err: error, outbox_id: row.id, reason: permanent },
              "outbox row can never be published; set aside, publishing the rows behind it",
            );
            continue;
          }
          // End the batch but commit the rows marked so far: re-publishing them later, after
          // the server's duplicate window, would put them in the audit log twice.
          logger.warn({ err: error, outbox_id: row.id }, "outbox publish failed; the relay retries");
          await markPublished(tx, published);
          return 0;
        }
        published.push({ id: row.id, ...position });
      }
      await markPublished(tx, published);
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
      logger.warn({ err: error }, "outbox publish failed; the relay retries");
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
    status: () => outboxStatusOf(db),
    async positionsOf(ids) {
      if (ids.length === 0) return [];
      const rows = await db
        .selectFrom("authz.outbox")
        .select(["stream", "seq"])
        .where("id", "in", ids)
        .where("published_at", "is not", null)
        .orderBy("id")
        .execute();
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

type PublishedRow = { id: number; stream: string; seq: number };

/**
 * Marks outbox rows published where they were stored, in one statement:
 * `update authz.outbox o set published_at = now(), stream = p.stream, seq = p.seq
 * from unnest($ids, $streams, $seqs) as p(id, stream, seq) where o.id = p.id`.
 */
async function markPublished(tx: AuthzTx, rows: readonly PublishedRow[]): Promise<void> {
  if (rows.length === 0) return;
  await sql`
    update authz.outbox o set published_at = ${new Date()}, stream = p.stream, seq = p.seq
    from unnest(${rows.map((r) => r.id)}::bigint[], ${rows.map((r) => r.stream)}::text[],
      ${rows.map((r) => r.seq)}::bigint[]) as p(id, stream, seq)
    where o.id = p.id
  `.execute(tx);
}

/**
 * Counts from `authz.outbox` (so across restarts and replicas). Each count reads one partial
 * index (`outbox_pending`, `outbox_set_aside`), never the published history.
 */
export async function outboxStatusOf(db: AuthzDb): Promise<OutboxStatus> {
  const pending = await db
    .selectFrom("authz.outbox")
    .select([
      sql<number>`count(*)::int`.as("rows"),
      sql<number | null>`extract(epoch from now() - min(created_at))::float8`.as("oldest"),
    ])
    .where("published_at", "is", null)
    .where("set_aside_at", "is", null)
    .executeTakeFirstOrThrow();
  const setAside = await db
    .selectFrom("authz.outbox")
    .select(sql<number>`count(*)::int`.as("rows"))
    .where("set_aside_at", "is not", null)
    .executeTakeFirstOrThrow();
  const oldest = pending.oldest === null ? null : Math.max(0, Number(pending.oldest));
  return { pending: pending.rows, oldest_pending_age_seconds: oldest, set_aside: setAside.rows };
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
