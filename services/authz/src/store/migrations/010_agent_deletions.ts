import { type Kysely, type Migration, sql } from "kysely";

/**
 * How many times each agent was deleted (GitLab mode: an agent leaves the mirror with its project
 * and may come back). A deletion counts itself in its own transaction and both of its records
 * carry the count (`Agent.deletion`, and the `agent_deleted` grant set's `deletion`), so the
 * projection pairs them by it rather than by times that the clocks of different authz hosts
 * stamped. Deletions before this migration were not counted: the count restarts at 0, which the
 * projection copes with (it compares numbers only with numbers).
 */
export const agentDeletionsMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`alter table authz.agents add column deletions integer not null default 0`.execute(db);
  },
};
