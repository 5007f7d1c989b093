import type { StreamPosition } from "@kasmap/contracts";
import type { ReadModelDatabase } from "@kasmap/db";
import type { Kysely } from "kysely";

/**
 * The consumer's stored position (the last stream sequence it applied), locked until the
 * caller's transaction ends, so a second projection replica applying the same stream waits
 * and then sees what the first committed. Creates the row at 0 the first time:
 *
 * ```sql
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
  await db
    .insertInto("read_model.projection_positions")
    .values({ consumer, stream, stream_seq: 0 })
    .onConflict((oc) => oc.column("consumer").doNothing())
    .execute();
  const row = await db
    .selectFrom("read_model.projection_positions")
    .select("stream_seq")
    .where("consumer", "=", consumer)
    .forUpdate()
    .executeTakeFirstOrThrow();
  return Number(row.stream_seq);
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
