import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
      -- When the projection first saw an agent token revoked (the JetStream time of that
      -- registry message). A collector event stored after it is refused (issue 7.6); one
      -- stored before it still applies, so a replay of the log rebuilds the same rows.
      alter table read_model.agent_tokens add column revoked_at timestamptz;
      -- Collector times are clamped to the server's time from now on; a heartbeat or snapshot
      -- dated in the future before that must not keep pinning its agent.
      update read_model.agent_connections set last_heartbeat_at = now() where last_heartbeat_at > now();
      update read_model.cluster_snapshots set observed_at = now() where observed_at > now();
      update read_model.cluster_snapshot_history set observed_at = now() where observed_at > now();
    `.execute(db);
}
