import type { ReadModelDatabase } from "@kasmap/db";
import type { Kysely } from "kysely";
import { type ProjectionCheckpoint, safeStartSeq } from "../consume/projection-positions.ts";
import type { StreamPartition } from "./projection-units.ts";

type Db = Kysely<ReadModelDatabase>;

/**
 * One partition's checkpoint, its row of `read_model.projection_partition_positions`. The
 * first read of a partition with no row yet creates it at `safeStartSeq` (the whole-stream
 * position, or the slowest partition of an earlier layout): everything up to there is applied
 * for every agent, and what lies beyond is applied again by the new layout, harmlessly (every
 * apply is idempotent: history and audit rows are keyed by stream sequence and event id, and the
 * latest facts move only forward). `fence` runs first in every apply transaction.
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
      const stored = await row(db).executeTakeFirst();
      if (stored) return Number(stored.stream_seq);
      const start = await safeStartSeq(db, consumer);
      await db
        .insertInto("read_model.projection_partition_positions")
        .values({
          consumer,
          partition_count: partition.count,
          partition_index: partition.index,
          stream,
          stream_seq: start,
        })
        .onConflict((oc) => oc.columns(["consumer", "partition_count", "partition_index"]).doNothing())
        .execute();
      return Number((await row(db).executeTakeFirstOrThrow()).stream_seq);
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
