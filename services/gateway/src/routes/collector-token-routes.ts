import { CreateAgentTokenBodySchema, KasmapError, NOT_FOUND, PaginationQuerySchema } from "@kasmap/contracts";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { AuthenticatedUser } from "../auth/authenticate.ts";
import { userOf } from "../auth/principal-of-request.ts";
import type { GatewayContext } from "../context.ts";
import { collectorTokenBody, isoTime } from "../http/gitlab-bodies.ts";
import { paginationHeaders } from "../http/pagination.ts";
import { mergedParams, parseParams } from "../http/request-params.ts";
import { requestUrl } from "../http/request-url.ts";
import { requireProjectRole } from "../permissions/project-role.ts";
import { visibleProject } from "../permissions/visible-resources.ts";
import { listActiveAgentTokens } from "../read-model/agent-queries.ts";
import type { ProjectRow } from "../read-model/registry-queries.ts";
import { parseNumericId } from "../read-model/resource-id.ts";
import { agentInProject } from "./agent-lookup.ts";
import { commandActor, forwardCommand } from "./forward-command.ts";
import type { AgentParams, AgentTokenParams } from "./route-params.ts";

/**
 * `/api/v4/projects/:id/cluster_agents/:agent_id/collector_tokens` (Kasmap extension, issue 9
 * item 5): the tokens a collector presents in `KASMAP_AGENT_TOKEN` instead of an agent token.
 * Every call needs Maintainer+ (`admin_cluster`), as managing agent tokens does in GitLab; the
 * role is checked before the agent is looked up, so a caller below it learns nothing of agents.
 */
export function registerCollectorTokenRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const base = "/api/v4/projects/:id/cluster_agents/:agent_id/collector_tokens";

  app.get<AgentParams>(base, async (request, reply) => {
    const { agentId } = await maintainedAgent(ctx, request);
    const query = parseParams(PaginationQuerySchema, request.query);
    const page = { page: query.page, perPage: query.per_page };
    const { tokens, total } = await listActiveAgentTokens(ctx.db, agentId, "collector", page);
    return reply
      .headers(paginationHeaders(requestUrl(request, ctx.externalUrl), page, total))
      .send(tokens.map(collectorTokenBody));
  });

  app.post<AgentParams>(base, async (request, reply) => {
    const { user, project, agentId } = await maintainedAgent(ctx, request);
    const params = parseParams(CreateAgentTokenBodySchema, mergedParams(request.query, request.body));
    const { token, plaintext } = await forwardCommand(ctx, "collector_token.create", {
      ...commandActor(ctx, request, user.id),
      project_id: project.id,
      agent_id: agentId,
      name: params.name,
      description: params.description ?? null,
    });
    const created = {
      id: token.id,
      name: token.name,
      token: plaintext,
      created_at: isoTime(token.created_at),
    };
    return reply.code(201).send(created);
  });

  app.delete<AgentTokenParams>(`${base}/:token_id`, async (request, reply) => {
    const { user, project, agentId } = await maintainedAgent(ctx, request);
    const tokenId = parseNumericId(request.params.token_id);
    if (tokenId === null) throw new KasmapError("not_found", NOT_FOUND.collectorToken);
    await forwardCommand(ctx, "collector_token.revoke", {
      ...commandActor(ctx, request, user.id),
      project_id: project.id,
      agent_id: agentId,
      token_id: tokenId,
    });
    return reply.code(204).send();
  });
}

/**
 * The caller, the project (404 unless visible) and the agent (404 unless registered there),
 * after `403 Forbidden` below Maintainer — GitLab's order for `admin_cluster` routes.
 */
async function maintainedAgent(
  ctx: GatewayContext,
  request: FastifyRequest<AgentParams>,
): Promise<{ user: AuthenticatedUser; project: ProjectRow; agentId: number }> {
  const user = await userOf(ctx, request);
  const project = await visibleProject(ctx, user, request.params.id, "read_project");
  await requireProjectRole(ctx, user, project, "admin_cluster");
  const { agent } = await agentInProject(ctx, project, request.params.agent_id);
  return { user, project, agentId: agent.id };
}
