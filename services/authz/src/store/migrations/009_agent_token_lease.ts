import { type Kysely, type Migration, sql } from "kysely";

/**
 * The re-authentication lease of GitLab agent tokens verified with GitLab's KAS secret (issue 9):
 * Kasmap cannot see a revocation in GitLab, so a record counts only until `lease_expires_at`
 * (GitLab's last yes + the permission TTL). authz revokes a record whose lease passed and marks
 * it `lapsed_at`: only such a record comes back when GitLab says yes again. Both stay null for
 * the tokens Kasmap itself mints (it sees their revocation at once).
 */
export const agentTokenLeaseMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`
      alter table authz.agent_tokens
        add column lease_expires_at timestamptz,
        add column lapsed_at timestamptz;
      -- The lapse sweep looks for active records whose lease passed.
      create index agent_tokens_active_lease on authz.agent_tokens (lease_expires_at)
        where status = 'active' and lease_expires_at is not null;
    `.execute(db);
  },
};
