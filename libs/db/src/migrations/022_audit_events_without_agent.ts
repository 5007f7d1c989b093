import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
      -- A refused agent creation (cluster_agent_create_failed, issue 10) is about a project and
      -- no agent: its row has no agent. Every other event still names one.
      alter table read_model.audit_events alter column agent_id drop not null;
    `.execute(db);
}
