import { type Kysely, sql } from "kysely";
import type { ReadModelDatabase } from "./read-model.ts";

/**
 * How far the projection has applied each of `streams`, by stream name: the highest sequence
 * up to which EVERY message of the stream is applied (a stream without any checkpoint is
 * absent). An unpartitioned consumer's position says that by itself; a partitioned consumer's
 * partitions only together, so for those the lowest checkpoint of a complete layout counts (a
 * partition's checkpoint also moves over the messages of other partitions, so it is never
 * behind for lack of traffic). Every bound is true, so the highest of them is taken: an older
 * layout, or the single position from before partitioning, may still be the furthest.
 *
 * ```sql
 * select stream, max(seq) as seq from (
 *   select stream, stream_seq as seq from read_model.projection_positions where stream = any($1)
 *   union all
 *   select stream, min(stream_seq) from read_model.projection_partition_positions
 *    where stream = any($1) group by consumer, stream, partition_count
 *   having count(*) = partition_count
 * ) bounds group by stream
 * ```
 */
export async function appliedStreamPositions(
  db: Kysely<ReadModelDatabase>,
  streams: readonly string[],
): Promise<Map<string, number>> {
  if (streams.length === 0) return new Map();
  const names = sql`${[...streams]}::text[]`;
  const result = await sql<{ stream: string; seq: number }>`
    select stream, max(seq)::bigint as seq from (
      select stream, stream_seq as seq from read_model.projection_positions where stream = any(${names})
      union all
      select stream, min(stream_seq) from read_model.projection_partition_positions
       where stream = any(${names})
       group by consumer, stream, partition_count
       having count(*) = partition_count
    ) bounds group by stream
  `.execute(db);
  return new Map(result.rows.map((row) => [row.stream, Number(row.seq)]));
}
