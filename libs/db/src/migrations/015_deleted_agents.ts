import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
      -- Streams are consumed independently, so an agent's authorization change or snapshot
      -- can be applied after its deletion arrived on the registry stream. The tombstone lets
      -- those late events leave no rows behind for an agent that no longer exists.
      create table read_model.deleted_agents (
        agent_id bigint primary key,
        deleted_at timestamptz not null
      );
    `.execute(db);
}
