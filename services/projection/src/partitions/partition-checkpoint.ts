import type { ReadModelDatabase } from "@kasmap/db";
import { type Kysely, sql } from "kysely";
import { type ProjectionCheckpoint, safeStartSeq } from "../consume/projection-positions.ts";
import type { StreamPartition } from "./projection-units.ts";

type Db = Kysely<ReadModelDatabase>;

/**
 * One partition's checkpoint, its row of `read_model.projection_partition_positions`. Every
 * read (a consumer's start) moves the row up to `safeStartSeq` if it is behind, creating it
 * there the first time: up to that position (the whole-stream position, or the slowest partition
 * of a complete layout) everything is applied for every agent, so a partition never replays what
 * another layout applied meanwhile. What lies beyond it is applied again by a new layout,
 * adding nothing (history rows are keyed by stream sequence, audit and alert rows by event id and
 * drafted only for a snapshot above its agent's latest applied one, and the latest facts move
 * only forward: `projectSnapshotBatch`). `fence` runs first in every apply
 * transaction.
 *
 * ```sql
 * insert into read_model.projection_partition_positions (…) values ($consumer, $count, $index, $stream, $safeStart)
 * on conflict (consumer, partition_count, partition_index)
 *   do update set stream_seq = greatest(projection_partition_positions.stream_seq, excluded.stream_seq)
 * returning stream_seq
 * ```
 */
export function partitionCheckpoint(
  db: Db,
  target: { consumer: string; stream: string; partition: StreamPartition },
  fence: (trx: Db) => Promise<void>,
): ProjectionCheckpoint {
  const { consumer, stream, partition } = target;
  const row = (trx: Db) =>
    trx
      .selectFrom("read_model.projection_partition_positions")
      .select("stream_seq")
      .where("consumer", "=", consumer)
      .where("partition_count", "=", partition.count)
      .where("partition_index", "=", partition.index);
  return {
    async read() {
      const start = await safeStartSeq(db, consumer);
      const stored = await db
        .insertInto("read_model.projection_partition_positions")
        .values({
          consumer,
          partition_count: partition.count,
          partition_index: partition.index,
          stream,
          stream_seq: start,
        })
        .onConflict((oc) =>
          oc.columns(["consumer", "partition_count", "partition_index"]).doUpdateSet((eb) => ({
            stream_seq: sql<number>`greatest(${eb.ref("read_model.projection_partition_positions.stream_seq")}, ${eb.ref("excluded.stream_seq")})`,
          })),
        )
        .returning("stream_seq")
        .executeTakeFirstOrThrow();
      return Number(stored.stream_seq);
    },
    async lock(trx) {
      await fence(trx);
      return Number((await row(trx).forUpdate().executeTakeFirstOrThrow()).stream_seq);
    },
    async store(trx, seq) {
      await trx
        .updateTable("read_model.projection_partition_positions")
        .set((eb) => ({ stream_seq: seq, updated_at: eb.fn<string>("now") }))
        .where("consumer", "=", consumer)
        .where("partition_count", "=", partition.count)
        .where("partition_index", "=", partition.index)
        .execute();
    },
  };
}
