import { type Kysely, type Migration, sql } from "kysely";

export const agentConfigPathsMigration: Migration = {
  async up(db: Kysely<unknown>) {
    // Every path an agent's config names (lower-cased), so a move that makes a named path
    // resolve (a group or project arriving at it) finds the agents to re-resolve by index.
    await sql`
      create table authz.agent_config_paths (
        agent_id bigint not null references authz.agents (id),
        target_type text not null check (target_type in ('project', 'group')),
        lower_path text not null,
        primary key (agent_id, target_type, lower_path)
      );
      create index agent_config_paths_path on authz.agent_config_paths (lower_path);
    `.execute(db);
  },
};
