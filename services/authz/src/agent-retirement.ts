import type { Agent } from "@kasmap/contracts";
import { revokeAgentGrants } from "./agent-authorizations.ts";
import { emitRegistryChange } from "./registry-events.ts";
import { toAgent, toAgentToken } from "./store/entities.ts";
import type { UnitOfWork } from "./unit-of-work.ts";

/**
 * Deletes a live agent the way `agent.delete` does, so a GitLab-mode removal publishes the same
 * events: the agent marked deleted (the audit log keeps its history), its active tokens revoked,
 * its grants emptied (`agent_deleted`).
 */
export async function retireAgent(unit: UnitOfWork, live: Agent): Promise<Agent> {
  const row = await unit.tx
    .updateTable("authz.agents")
    .set({ deleted_at: new Date() })
    .where("id", "=", live.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  const agent = toAgent(row);
  emitRegistryChange(unit, "agent", agent);
  const revoked = await unit.tx
    .updateTable("authz.agent_tokens")
    .set({ status: "revoked" })
    .where("agent_id", "=", agent.id)
    .where("status", "=", "active")
    .returningAll()
    .execute();
  for (const token of revoked.sort((a, b) => a.id - b.id))
    emitRegistryChange(unit, "agent_token", toAgentToken(token));
  await revokeAgentGrants(unit, agent);
  return agent;
}
