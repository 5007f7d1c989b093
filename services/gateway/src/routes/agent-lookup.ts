import type { ClusterInfo, KasmapError } from "@kasmap/contracts";
import type { AuthenticatedUser } from "../auth/authenticate.ts";
import { tokenNotFound } from "../auth/credential-errors.ts";
import type { Stamp } from "../cache/invalidating-cache.ts";
import type { GatewayContext } from "../context.ts";
import {
  agentBodyJson,
  agentWithClusterInfoJson,
  clusterInfoChangesAt,
  clusterInfoJson,
  type SerializedClusterFacts,
} from "../http/agent-body-json.ts";
import { invalidParams } from "../http/request-params.ts";
import { requireProjectRole } from "../permissions/project-role.ts";
import { visibleProject } from "../permissions/visible-resources.ts";
import type { AgentRow, AgentWithProject } from "../read-model/agent-queries.ts";
import { composeClusterInfo } from "../read-model/cluster-info-queries.ts";
import type { AgentConnectionsRead } from "../read-model/collector-connections.ts";
import { type ProjectRow, projectIdCacheKey } from "../read-model/registry-queries.ts";
import { parseNumericId } from "../read-model/resource-id.ts";

/**
 * `:agent_id` as Grape reads `requires :agent_id, type: Integer`: `400 {"error":"agent_id is
 * invalid"}` unless it is an integer (checked before the project or any role, see `checkParams`);
 * null for an integer that can name no agent.
 */
export function agentIdParam(rawAgentId: string): number | null {
  return integerParam("agent_id", rawAgentId);
}

/**
 * The agent `agentId` (`agentIdParam`) names with its configuration project, or
 * `404 {"message":"404 Not found"}` when there is none (GitLab's `ActiveRecord::RecordNotFound`).
 */
export async function agentById(ctx: GatewayContext, agentId: number | null): Promise<AgentWithProject> {
  const found =
    agentId === null ? null : await ctx.caches.agents.get(agentId, () => ctx.loads.agent(agentId));
  if (!found) throw recordNotFound();
  return found;
}

/** As `agentById`, and `404 Not found` too unless it is registered in `project` (GitLab's finder is scoped to the project). */
export async function agentInProject(
  ctx: GatewayContext,
  project: ProjectRow,
  agentId: number | null,
): Promise<AgentWithProject> {
  const found = await agentById(ctx, agentId);
  if (found.agent.project_id !== project.id) throw recordNotFound();
  return found;
}

/**
 * The project and agent of a read at or below `…/cluster_agents/:agent_id`, in GitLab's order
 * (`user_project`, then `AgentsFinder#find`): `404 Project Not Found` unless the caller sees the
 * project; then `404 Not found` below Developer (the finder finds nothing the caller may not
 * `read_cluster_agent`), the same body as for an agent that does not exist.
 */
export async function readableAgent(
  ctx: GatewayContext,
  user: AuthenticatedUser,
  rawProjectId: string,
  agentId: number | null,
): Promise<{ project: ProjectRow; agent: AgentRow }> {
  const project = await visibleProject(ctx, user, rawProjectId, "read_project");
  await requireProjectRole(ctx, user, project, "read_cluster_agent", recordNotFound);
  const { agent } = await agentInProject(ctx, project, agentId);
  return { project, agent };
}

/**
 * As `readableAgent` for writes (`authorize! :admin_cluster, user_project` before the finder):
 * `403 Forbidden` below Maintainer whether the agent exists or not.
 */
export async function administeredAgent(
  ctx: GatewayContext,
  user: AuthenticatedUser,
  rawProjectId: string,
  agentId: number | null,
): Promise<{ project: ProjectRow; agent: AgentRow }> {
  const project = await visibleProject(ctx, user, rawProjectId, "read_project");
  await requireProjectRole(ctx, user, project, "admin_cluster");
  const { agent } = await agentInProject(ctx, project, agentId);
  return { project, agent };
}

/**
 * A path parameter GitLab declares `type: Integer`: `400 {"error":"<name> is invalid"}` unless
 * it is an integer; null for an integer that can name no row (0, negative, beyond 2^53).
 */
export function integerParam(name: string, raw: string): number | null {
  if (!/^[+-]?\d+$/.test(raw.trim())) throw invalidParams([`${name} is invalid`]);
  return parseNumericId(raw.trim().replace(/^\+/, ""));
}

/** GitLab's answer to `ActiveRecord::RecordNotFound` in the API (`lib/api/api.rb`): `404 {"message":"404 Not found"}`. */
export function recordNotFound(): KasmapError {
  return tokenNotFound();
}

/** The agent's latest snapshot facts (with their JSON text) from the cache, or null before any. */
export function cachedClusterFacts(
  ctx: GatewayContext,
  agentId: number,
): Promise<SerializedClusterFacts | null> {
  return ctx.caches.clusterFacts.get(agentId, () => ctx.loads.clusterFacts(agentId));
}

function cachedConnections(ctx: GatewayContext, agentId: number): Promise<AgentConnectionsRead> {
  return ctx.caches.connections.get(agentId, () => ctx.loads.connections(agentId));
}

/**
 * The agent's `cluster_info` from the cached facts and last heartbeat; `deployment_status` is
 * computed now, since it changes with the clock even when no row does.
 */
export async function clusterInfoOf(ctx: GatewayContext, agentId: number): Promise<ClusterInfo | null> {
  const [facts, connections] = await Promise.all([
    cachedClusterFacts(ctx, agentId),
    cachedConnections(ctx, agentId),
  ]);
  return composeClusterInfo(facts?.facts ?? null, connections, Date.now(), connections.collectors);
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
  const [facts, connections] = await Promise.all([
    cachedClusterFacts(ctx, agentId),
    cachedConnections(ctx, agentId),
  ]);
  return clusterInfoJson(facts, connections, Date.now(), connections.collectors);
}

/**
 * `GET …/cluster_agents/:agent_id/cluster_info`'s body as bytes: `clusterInfoJsonOf`'s text,
 * rendered once per pair of cached parts (facts, connections) and reused until one changes or
 * the clock moves `deployment_status` or a connection (`clusterInfoBodies`). A 5,000-node
 * cluster's answer is ~0.25 MB: spliced anew for every read it was flattened, measured and
 * encoded again each time (most of the gateway's CPU while a client polled it).
 */
export async function clusterInfoBody(ctx: GatewayContext, agentId: number): Promise<Buffer> {
  const cached = cachedFactsAndConnections(ctx, agentId);
  const [facts, connections] = Array.isArray(cached) ? cached : await cached;
  const { lastHeartbeat, collectors } = connections;
  const nowMs = Date.now();
  return ctx.caches.clusterInfoBodies.get(agentId, [facts, connections], nowMs, () => ({
    body: Buffer.from(clusterInfoJson(facts, connections, nowMs, collectors)),
    validUntil: clusterInfoChangesAt(lastHeartbeat, collectors, nowMs),
  }));
}

type FactsAndConnections = readonly [SerializedClusterFacts | null, AgentConnectionsRead];

/** The agent's cached facts and connections: at once when both are cached, else once loaded. */
function cachedFactsAndConnections(
  ctx: GatewayContext,
  agentId: number,
): FactsAndConnections | Promise<FactsAndConnections> {
  const facts = ctx.caches.clusterFacts.peek(agentId);
  const connections = ctx.caches.connections.peek(agentId);
  if (facts !== undefined && connections !== undefined) return [facts, connections];
  return Promise.all([
    facts ?? cachedClusterFacts(ctx, agentId),
    connections ?? cachedConnections(ctx, agentId),
  ]);
}

/**
 * The hot read's body (`GET …/cluster_agents/:agent_id?with_cluster_info=true`) as bytes: the
 * agent's body with its `cluster_info`, rendered once per set of cached parts and reused until a
 * part changes or the clock moves `deployment_status` or a connection (`agentReadBodies`). When
 * every part is cached it is taken without waiting for a promise.
 */
export async function agentReadBody(
  ctx: GatewayContext,
  agent: AgentRow,
  project: ProjectRow,
): Promise<Buffer> {
  const cached = cachedFactsAndConnections(ctx, agent.id);
  const [facts, connections] = Array.isArray(cached) ? cached : await cached;
  return renderAgentReadBody(ctx, agent, project, facts, connections);
}

/**
 * As `agentReadBody` when the agent, its project (by id), its facts and connections are all
 * cached, else undefined; the body is kept with the stamps of those four entries, so that the
 * next read finds it current (`agentReadBodies.current`) until one of them changes.
 */
export function cachedAgentReadBody(
  ctx: GatewayContext,
  ids: { projectId: number; agentId: number },
): Buffer | undefined {
  const found = ctx.caches.agents.peekEntry(ids.agentId);
  const agent = found?.value?.agent;
  if (found === undefined || agent === undefined || agent.project_id !== ids.projectId) return undefined;
  const project = ctx.caches.projects.peekEntry(projectIdCacheKey(ids.projectId));
  if (!project?.value) return undefined;
  const facts = ctx.caches.clusterFacts.peekEntry(ids.agentId);
  if (facts === undefined) return undefined;
  const connections = ctx.caches.connections.peekEntry(ids.agentId);
  if (connections === undefined) return undefined;
  return renderAgentReadBody(ctx, agent, project.value, facts.value, connections.value, [
    found.stamp,
    project.stamp,
    facts.stamp,
    connections.stamp,
  ]);
}

function renderAgentReadBody(
  ctx: GatewayContext,
  agent: AgentRow,
  project: ProjectRow,
  facts: SerializedClusterFacts | null,
  connections: AgentConnectionsRead,
  partStamps?: readonly Stamp[],
): Buffer {
  const { lastHeartbeat, collectors } = connections;
  const nowMs = Date.now();
  const parts = [agent, project, facts, connections] as const;
  return ctx.caches.agentReadBodies.get(
    agent.id,
    parts,
    nowMs,
    () => ({
      body: Buffer.from(
        agentWithClusterInfoJson(
          agentBodyJson(agent, project),
          clusterInfoJson(facts, connections, nowMs, collectors),
        ),
      ),
      validUntil: clusterInfoChangesAt(lastHeartbeat, collectors, nowMs),
    }),
    partStamps,
  );
}
