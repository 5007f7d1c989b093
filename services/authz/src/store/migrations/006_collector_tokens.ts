import { type Kysely, type Migration, sql } from "kysely";

/**
 * Collector tokens (issue 9 item 5) are agent credentials of another kind, kept in the agent
 * token table: one digest lookup authenticates either kind, deleting an agent revokes both, and
 * their registry events stay `agent_token` events (with `kind`).
 */
export const collectorTokensMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`
      alter table authz.agent_tokens
        add column kind text not null default 'agent' check (kind in ('agent', 'collector'));
      -- The active-token limit is counted per agent and kind on every create.
      create index agent_tokens_agent_kind_active on authz.agent_tokens (agent_id, kind) where status = 'active';
    `.execute(db);
  },
};
