import { type ClusterInfo, KasmapError, NOT_FOUND } from "@kasmap/contracts";
import type { GatewayContext } from "../context.ts";
import {
  clusterInfoJson,
  type SerializedClusterFacts,
  serializeClusterFacts,
} from "../http/agent-body-json.ts";
import { type AgentWithProject, findAgent } from "../read-model/agent-queries.ts";
import {
  composeClusterInfo,
  loadClusterFacts,
  loadLastHeartbeat,
} from "../read-model/cluster-info-queries.ts";
import type { ProjectRow } from "../read-model/registry-queries.ts";
import { parseNumericId } from "../read-model/resource-id.ts";

/** The agent `rawAgentId` names with its configuration project, else `404 ClusterAgents Not Found`. */
export async function agentById(ctx: GatewayContext, rawAgentId: string): Promise<AgentWithProject> {
  const agentId = parseNumericId(rawAgentId);
  const found =
    agentId === null ? null : await ctx.caches.agents.get(agentId, () => findAgent(ctx.db, agentId));
  if (!found) throw new KasmapError("not_found", NOT_FOUND.agent);
  return found;
}

/** As `agentById`, and `404 ClusterAgents Not Found` too unless it is registered in `project`. */
export async function agentInProject(
  ctx: GatewayContext,
  project: ProjectRow,
  rawAgentId: string,
): Promise<AgentWithProject> {
  const found = await agentById(ctx, rawAgentId);
  if (found.agent.project_id !== project.id) throw new KasmapError("not_found", NOT_FOUND.agent);
  return found;
}

/** The agent's latest snapshot facts (with their JSON text) from the cache, or null before any. */
export function cachedClusterFacts(
  ctx: GatewayContext,
  agentId: number,
): Promise<SerializedClusterFacts | null> {
  return ctx.caches.clusterFacts.get(agentId, async () => {
    const facts = await loadClusterFacts(ctx.db, agentId);
    return facts === null ? null : serializeClusterFacts(facts);
  });
}

function cachedLastHeartbeat(ctx: GatewayContext, agentId: number): Promise<Date | null> {
  return ctx.caches.lastHeartbeats.get(agentId, () => loadLastHeartbeat(ctx.db, agentId));
}

/**
 * The agent's `cluster_info` from the cached facts and last heartbeat; `deployment_status` is
 * computed now, since it changes with the clock even when no row does.
 */
export async function clusterInfoOf(ctx: GatewayContext, agentId: number): Promise<ClusterInfo | null> {
  const [facts, lastHeartbeat] = await Promise.all([
    cachedClusterFacts(ctx, agentId),
    cachedLastHeartbeat(ctx, agentId),
  ]);
  return composeClusterInfo(facts?.facts ?? null, lastHeartbeat, Date.now());
}

/** `body` with the agent's `cluster_info` as its last key when the caller asked (`?with_cluster_info=true`). */
export async function withClusterInfoIfAsked<B extends object>(
  ctx: GatewayContext,
  body: B,
  agentId: number,
  asked: boolean,
): Promise<B | (B & { cluster_info: ClusterInfo | null })> {
  return asked ? { ...body, cluster_info: await clusterInfoOf(ctx, agentId) } : body;
}

/** As `clusterInfoOf`, as JSON text spliced from the cached text of the facts (the hot read). */
export async function clusterInfoJsonOf(ctx: GatewayContext, agentId: number): Promise<string> {
  const [facts, lastHeartbeat] = await Promise.all([
    cachedClusterFacts(ctx, agentId),
    cachedLastHeartbeat(ctx, agentId),
  ]);
  return clusterInfoJson(facts, lastHeartbeat, Date.now());
}
