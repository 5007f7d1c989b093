import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
      -- authz numbers each deletion of an agent (1, 2, …) and puts the number on both of its
      -- records, the agent with deleted_at (registry stream) and the agent_deleted grant set
      -- (authz stream). The tombstone keeps each consumer's number next to its time: deletion
      -- beside deleted_at, grants_cleared_deletion beside grants_cleared_at. The projection pairs
      -- the two by these numbers when both are known, since the times come from the clocks of
      -- whichever authz hosts handled the deletions; null (a record of an older authz, or a
      -- tombstone written before this migration): it pairs them by time, as before.
      alter table read_model.deleted_agents
        add column deletion integer,
        add column grants_cleared_deletion integer;
    `.execute(db);
}
