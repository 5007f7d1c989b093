import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
      -- The checkpoint of each partition of a partitioned projection consumer (issue 12): the
      -- last stream sequence up to which every message of that partition has been applied.
      -- Messages of other partitions move it too (the partition skips them), so the lowest
      -- checkpoint of a complete layout (all partition_count rows) is a position up to which
      -- the whole stream is applied. The unpartitioned consumers keep projection_positions.
      create table read_model.projection_partition_positions (
        consumer text not null,
        partition_count integer not null check (partition_count between 2 and 1024),
        partition_index integer not null check (partition_index >= 0 and partition_index < partition_count),
        stream text not null,
        stream_seq bigint not null check (stream_seq >= 0),
        updated_at timestamptz not null default now(),
        primary key (consumer, partition_count, partition_index)
      );
    `.execute(db);
}
