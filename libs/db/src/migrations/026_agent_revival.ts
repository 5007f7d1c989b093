import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
      -- An agent deleted in authz can come back (GitLab mode: its project left the mirrored root
      -- group and returned). The tombstone then records the whole episode, each consumer writing
      -- its own columns: the registry consumer the deletion (deleted_at, null while only the
      -- authz stream has told of it), the revival (revived_at, when the server stored the
      -- revival) and the deletions the agent came back from before (past_deletions, a JSON array
      -- of {from, until}, the newest 100); the authz consumer the agent's agent_deleted grant
      -- set (grants_cleared_at, its time) and the latest grant set after it (held_*), kept out
      -- of the authorization tables until the revival has been applied too.
      alter table read_model.deleted_agents
        alter column deleted_at drop not null,
        add column revived_at timestamptz,
        add column grants_cleared_at timestamptz,
        add column held_grants jsonb,
        add column held_dropped jsonb,
        add column held_at timestamptz,
        add column past_deletions jsonb;

      -- Tombstones of agents revived before this migration (their row is back): their grant sets
      -- since were discarded, so only a rebuild or the agent's next grant set brings them back.
      -- Every agent_deleted grant set published so far counts as applied (a later one is a new
      -- deletion), and the revival as applied now.
      update read_model.deleted_agents d
         set revived_at = now(), grants_cleared_at = now()
       where exists (select from read_model.agents a where a.id = d.agent_id);
      -- Tombstones of agents still deleted: their agent_deleted grant set was applied before
      -- this migration (unrecorded), so grant sets from now on are from after the deletion: held
      -- until a revival, not discarded.
      update read_model.deleted_agents
         set grants_cleared_at = deleted_at
       where revived_at is null and grants_cleared_at is null;
    `.execute(db);
}
