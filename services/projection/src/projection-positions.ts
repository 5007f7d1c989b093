import type { ReadModelDatabase } from "@kasmap/db";
import type { Kysely } from "kysely";
import type { StreamPosition } from "./apply-event.ts";

/**
 * Advances the consumer's stored position to `position.seq` if it is ahead of what is stored,
 * and says whether it did. Run first in the transaction that applies the message: the upsert
 * locks the position row until commit, and `false` means the message was already applied
 * (a redelivery or a replay), so the caller changes nothing.
 *
 * ```sql
 * insert into read_model.projection_positions (consumer, stream, stream_seq) values ($1, $2, $3)
 * on conflict (consumer) do update set stream = excluded.stream, stream_seq = excluded.stream_seq,
 *   updated_at = now()
 * where read_model.projection_positions.stream_seq < excluded.stream_seq
 * returning consumer
 * ```
 */
export async function claimPosition(
  db: Kysely<ReadModelDatabase>,
  consumer: string,
  position: StreamPosition,
): Promise<boolean> {
  const claimed = await db
    .insertInto("read_model.projection_positions")
    .values({ consumer, stream: position.stream, stream_seq: position.seq })
    .onConflict((oc) =>
      oc
        .column("consumer")
        .doUpdateSet((eb) => ({
          stream: eb.ref("excluded.stream"),
          stream_seq: eb.ref("excluded.stream_seq"),
          updated_at: eb.fn<string>("now"),
        }))
        .where("read_model.projection_positions.stream_seq", "<", (eb) => eb.ref("excluded.stream_seq")),
    )
    .returning("consumer")
    .executeTakeFirst();
  return claimed !== undefined;
}

/** The stored position of every consumer, keyed by consumer name. */
export async function readPositions(db: Kysely<ReadModelDatabase>): Promise<Map<string, StreamPosition>> {
  const rows = await db
    .selectFrom("read_model.projection_positions")
    .select(["consumer", "stream", "stream_seq"])
    .execute();
  return new Map(rows.map((r) => [r.consumer, { stream: r.stream, seq: r.stream_seq }]));
}
