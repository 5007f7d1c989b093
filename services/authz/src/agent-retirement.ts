import type { Agent } from "@kasmap/contracts";
import { sql } from "kysely";
import { revokeAgentGrants } from "./agent-authorizations.ts";
import { emitRegistryChange } from "./registry-events.ts";
import { toAgent, toAgentToken } from "./store/entities.ts";
import type { UnitOfWork } from "./unit-of-work.ts";

/**
 * Deletes a live agent the way `agent.delete` does, so a GitLab-mode removal publishes the same
 * events: the agent marked deleted (the audit log keeps its history), its active tokens revoked,
 * its grants emptied (`agent_deleted`). The deletion is counted (`authz.agents.deletions`) and
 * both records carry its number (`deletion`) and its time (`deleted_at`, the grant set's `time`):
 * the projection pairs the two streams' records of one deletion by the number, for an agent
 * that comes back; by the time only for records of an authz that predates the count, since
 * another authz replica may stamp the next deletion with a clock behind this one's.
 *
 * A GitLab-verified token's record (`lease_expires_at` set) is revoked as if its lease had
 * lapsed (`lapsed_at`): the token is GitLab's, and GitLab keeps it when the agent only left the
 * mirror (its project moved out of the mirrored root group). While the agent is deleted here no
 * authentication succeeds (authz asks for a live agent); once the mirror brings the agent back,
 * GitLab's next yes for the token makes the record active again, and GitLab's no revokes it for
 * good (gitlab-agent-tokens.ts). Kasmap's own tokens stay revoked.
 */
export async function retireAgent(unit: UnitOfWork, live: Agent): Promise<Agent> {
  const deletedAt = new Date();
  const row = await unit.tx
    .updateTable("authz.agents")
    .set({ deleted_at: deletedAt, deletions: sql<number>`deletions + 1` })
    .where("id", "=", live.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  const agent = toAgent(row);
  emitRegistryChange(unit, "agent", agent);
  const revoked = await unit.tx
    .updateTable("authz.agent_tokens")
    .set({
      status: "revoked",
      lapsed_at: sql<Date | null>`case when lease_expires_at is not null then ${deletedAt}::timestamptz end`,
    })
    .where("agent_id", "=", agent.id)
    .where("status", "=", "active")
    .returningAll()
    .execute();
  for (const token of revoked.sort((a, b) => a.id - b.id))
    emitRegistryChange(unit, "agent_token", toAgentToken(token));
  await revokeAgentGrants(unit, agent, { at: deletedAt, number: row.deletions });
  return agent;
}
