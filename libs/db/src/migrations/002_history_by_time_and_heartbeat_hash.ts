import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
      -- "Which cluster did agent X point at, at time T": newest history row at or before T.
      create index cluster_snapshot_history_agent_time
        on read_model.cluster_snapshot_history (agent_id, observed_at desc);
      -- The content hash the collector last reported: a hash without a matching snapshot
      -- means the snapshot event has not been projected yet.
      alter table read_model.agent_connections add column content_hash text;
    `.execute(db);
}
