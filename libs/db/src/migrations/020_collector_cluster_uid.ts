import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
      -- The cluster each collector reports from, from its heartbeats (issue 11): two live
      -- collectors of one agent with different UIDs are a cluster_agent_cluster_conflict.
      -- Null: unknown (an older collector, or one not allowed to read the kube-system Namespace).
      alter table read_model.collector_connections add column cluster_uid text;
    `.execute(db);
}
