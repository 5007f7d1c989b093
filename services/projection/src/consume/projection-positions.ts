import type { StreamPosition } from "@kasmap/contracts";
import type { ReadModelDatabase } from "@kasmap/db";
import { type Kysely, sql } from "kysely";

/**
 * The consumer's stored position (the last stream sequence it applied), locked until the
 * caller's transaction ends, so a second projection replica applying the same stream waits
 * and then sees what the first committed. One statement per batch; the first time, the row is
 * created at 0 and locked then:
 *
 * ```sql
 * select stream_seq from read_model.projection_positions where consumer = $1 for update;
 * -- no row yet:
 * insert into read_model.projection_positions (consumer, stream, stream_seq) values ($1, $2, 0)
 * on conflict (consumer) do nothing;
 * select stream_seq from read_model.projection_positions where consumer = $1 for update
 * ```
 */
export async function lockPosition(
  db: Kysely<ReadModelDatabase>,
  consumer: string,
  stream: string,
): Promise<number> {
  const locked = () =>
    db
      .selectFrom("read_model.projection_positions")
      .select("stream_seq")
      .where("consumer", "=", consumer)
      .forUpdate()
      .executeTakeFirst();
  const row = await locked();
  if (row) return Number(row.stream_seq);
  await db
    .insertInto("read_model.projection_positions")
    .values({ consumer, stream, stream_seq: 0 })
    .onConflict((oc) => oc.column("consumer").doNothing())
    .execute();
  const created = await locked();
  if (!created) throw new Error(`the position of ${consumer} could not be created`);
  return Number(created.stream_seq);
}

/**
 * Stores `position` as the consumer's position; run in the transaction that applied the
 * messages up to it, after `lockPosition`.
 *
 * ```sql
 * update read_model.projection_positions set stream = $2, stream_seq = $3, updated_at = now()
 * where consumer = $1
 * ```
 */
export async function storePosition(
  db: Kysely<ReadModelDatabase>,
  consumer: string,
  position: StreamPosition,
): Promise<void> {
  await db
    .updateTable("read_model.projection_positions")
    .set((eb) => ({ stream: position.stream, stream_seq: position.seq, updated_at: eb.fn<string>("now") }))
    .where("consumer", "=", consumer)
    .execute();
}

/** One consumer's stored position: the last stream sequence it applied, 0 if none. */
export async function readPosition(db: Kysely<ReadModelDatabase>, consumer: string): Promise<number> {
  const row = await db
    .selectFrom("read_model.projection_positions")
    .select("stream_seq")
    .where("consumer", "=", consumer)
    .executeTakeFirst();
  return Number(row?.stream_seq ?? 0);
}

/** The stored position of every consumer, keyed by consumer name. */
export async function readPositions(db: Kysely<ReadModelDatabase>): Promise<Map<string, StreamPosition>> {
  const rows = await db
    .selectFrom("read_model.projection_positions")
    .select(["consumer", "stream", "stream_seq"])
    .execute();
  return new Map(rows.map((r) => [r.consumer, { stream: r.stream, seq: r.stream_seq }]));
}

/**
 * Where a consumer's progress is kept, in the transaction that applies its messages: the whole
 * stream's position (`consumerCheckpoint`) or one partition's (`partitionCheckpoint`).
 */
export type ProjectionCheckpoint = {
  /** The last sequence applied, read when the consumer (re)starts: it resumes after it. */
  read(): Promise<number>;
  /** In the apply transaction, first: checks the right to apply, locks and returns the position. */
  lock(trx: Kysely<ReadModelDatabase>): Promise<number>;
  /** In the apply transaction, last: stores `seq` as the position. */
  store(trx: Kysely<ReadModelDatabase>, seq: number): Promise<void>;
};

/**
 * A whole stream's checkpoint, the row `consumer` of `read_model.projection_positions`. `fence`,
 * when given, runs first in every apply transaction (a replica's lease check). It resumes from
 * the furthest safe position (`safeStartSeq`), so a return to one partition after several
 * does not replay what the partitions applied.
 */
export function consumerCheckpoint(
  db: Kysely<ReadModelDatabase>,
  consumer: string,
  stream: string,
  fence?: (trx: Kysely<ReadModelDatabase>) => Promise<void>,
): ProjectionCheckpoint {
  return {
    read: () => safeStartSeq(db, consumer),
    async lock(trx) {
      await fence?.(trx);
      return lockPosition(trx, consumer, stream);
    },
    store: (trx, seq) => storePosition(trx, consumer, { stream, seq }),
  };
}

/**
 * The furthest position up to which every message of `consumer`'s stream is known to be
 * applied: the highest of its whole-stream position and, for each complete partition layout,
 * that layout's lowest partition checkpoint; 0 if none.
 *
 * ```sql
 * select coalesce(max(seq), 0) as seq from (
 *   select stream_seq as seq from read_model.projection_positions where consumer = $1
 *   union all
 *   select min(stream_seq) from read_model.projection_partition_positions where consumer = $1
 *    group by partition_count having count(*) = partition_count
 * ) bounds
 * ```
 */
export async function safeStartSeq(db: Kysely<ReadModelDatabase>, consumer: string): Promise<number> {
  const result = await sql<{ seq: number }>`
    select coalesce(max(seq), 0)::bigint as seq from (
      select stream_seq as seq from read_model.projection_positions where consumer = ${consumer}
      union all
      select min(stream_seq) from read_model.projection_partition_positions where consumer = ${consumer}
       group by partition_count having count(*) = partition_count
    ) bounds
  `.execute(db);
  return Number(result.rows[0]?.seq ?? 0);
}
