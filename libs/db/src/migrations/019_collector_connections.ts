import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
      -- One row per collector of an agent (issue 11: agentk and the collector may run several
      -- replicas), from its heartbeats. Rows are not deleted when a collector goes quiet: the
      -- gateway lists only those whose last heartbeat is young enough, at read time.
      create table read_model.collector_connections (
        agent_id bigint not null,
        collector_id text not null,
        pod_name text,
        pod_ip text,
        namespace text,
        node text,
        version text,
        commit text,
        connected_at timestamptz not null,
        last_heartbeat_at timestamptz not null,
        -- Set by the heartbeat a collector sends when it shuts down; a later heartbeat clears it.
        stopped_at timestamptz,
        primary key (agent_id, collector_id)
      );
    `.execute(db);
}
