import { type ClusterInfo, KasmapError, NOT_FOUND } from "@kasmap/contracts";
import type { GatewayContext } from "../context.ts";
import { type AgentWithProject, findAgent } from "../read-model/agent-queries.ts";
import {
  composeClusterInfo,
  loadClusterFacts,
  loadLastHeartbeat,
} from "../read-model/cluster-info-queries.ts";
import type { ProjectRow } from "../read-model/registry-queries.ts";
import { parseNumericId } from "../read-model/resource-id.ts";

/** The agent `rawAgentId` names if it is registered in `project`, else `404 ClusterAgents Not Found`. */
export async function agentInProject(
  ctx: GatewayContext,
  project: ProjectRow,
  rawAgentId: string,
): Promise<AgentWithProject> {
  const agentId = parseNumericId(rawAgentId);
  const found =
    agentId === null ? null : await ctx.caches.agents.get(agentId, () => findAgent(ctx.db, agentId));
  if (!found || found.agent.project_id !== project.id) throw new KasmapError("not_found", NOT_FOUND.agent);
  return found;
}

/**
 * The agent's `cluster_info` from the cached facts and last heartbeat; `deployment_status` is
 * computed now, since it changes with the clock even when no row does.
 */
export async function clusterInfoOf(ctx: GatewayContext, agentId: number): Promise<ClusterInfo | null> {
  const [facts, lastHeartbeat] = await Promise.all([
    ctx.caches.clusterFacts.get(agentId, () => loadClusterFacts(ctx.db, agentId)),
    ctx.caches.lastHeartbeats.get(agentId, () => loadLastHeartbeat(ctx.db, agentId)),
  ]);
  return composeClusterInfo(facts, lastHeartbeat, Date.now());
}
