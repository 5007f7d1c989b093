import { CreateAgentTokenBodySchema, PaginationQuerySchema } from "@kasmap/contracts";
import type { FastifyInstance } from "fastify";
import { userOf } from "../auth/principal-of-request.ts";
import type { GatewayContext } from "../context.ts";
import { agentTokenBody } from "../http/gitlab-bodies.ts";
import { paginationHeaders } from "../http/pagination.ts";
import { mergedParams, parseParams } from "../http/request-params.ts";
import { requestUrl } from "../http/request-url.ts";
import { requireProjectRole } from "../permissions/project-role.ts";
import { visibleProject } from "../permissions/visible-resources.ts";
import { findActiveAgentToken, listActiveAgentTokens } from "../read-model/agent-queries.ts";
import { agentInProject, integerParam, recordNotFound } from "./agent-lookup.ts";
import { commandActor, forwardCommand, rethrowNotFoundAs } from "./forward-command.ts";
import type { AgentParams, AgentTokenParams } from "./route-params.ts";

/** `/api/v4/projects/:id/cluster_agents/:agent_id/tokens` (GitLab's `API::Clusters::AgentTokens`). */
export function registerAgentTokenRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const base = "/api/v4/projects/:id/cluster_agents/:agent_id/tokens";

  app.get<AgentParams>(base, async (request, reply) => {
    const user = await userOf(ctx, request);
    const project = await visibleProject(ctx, user, request.params.id, "read_cluster_agent");
    const { agent } = await agentInProject(ctx, project, request.params.agent_id);
    const query = parseParams(PaginationQuerySchema, request.query);
    const page = { page: query.page, perPage: query.per_page };
    const { tokens, total } = await listActiveAgentTokens(ctx.db, agent.id, "agent", page);
    const bodies = tokens.map((token) => agentTokenBody(token, { lastUsed: false }));
    return reply.headers(paginationHeaders(requestUrl(request, ctx.externalUrl), page, total)).send(bodies);
  });

  app.get<AgentTokenParams>(`${base}/:token_id`, async (request) => {
    const user = await userOf(ctx, request);
    const project = await visibleProject(ctx, user, request.params.id, "read_cluster_agent");
    const { agent } = await agentInProject(ctx, project, request.params.agent_id);
    const tokenId = integerParam("token_id", request.params.token_id);
    const token = tokenId === null ? null : await findActiveAgentToken(ctx.db, agent.id, tokenId);
    if (!token) throw recordNotFound();
    return agentTokenBody(token, { lastUsed: true });
  });

  app.post<AgentParams>(base, async (request, reply) => {
    const user = await userOf(ctx, request);
    const project = await visibleProject(ctx, user, request.params.id, "read_project");
    await requireProjectRole(ctx, user, project, "admin_cluster");
    const { agent } = await agentInProject(ctx, project, request.params.agent_id);
    const params = parseParams(CreateAgentTokenBodySchema, mergedParams(request.query, request.body));
    const { token, plaintext } = await forwardCommand(ctx, "agent_token.create", {
      ...commandActor(ctx, request, user.id),
      project_id: project.id,
      agent_id: agent.id,
      name: params.name,
      description: params.description ?? null,
    });
    return reply.code(201).send({ ...agentTokenBody(token, { lastUsed: true }), token: plaintext });
  });

  app.delete<AgentTokenParams>(`${base}/:token_id`, async (request, reply) => {
    const user = await userOf(ctx, request);
    const project = await visibleProject(ctx, user, request.params.id, "read_project");
    await requireProjectRole(ctx, user, project, "admin_cluster");
    const { agent } = await agentInProject(ctx, project, request.params.agent_id);
    const tokenId = integerParam("token_id", request.params.token_id);
    if (tokenId === null) throw recordNotFound();
    // authz names the token in its 404; GitLab's `find` answers the bare RecordNotFound body.
    await forwardCommand(ctx, "agent_token.revoke", {
      ...commandActor(ctx, request, user.id),
      project_id: project.id,
      agent_id: agent.id,
      token_id: tokenId,
    }).catch(rethrowNotFoundAs(recordNotFound));
    return reply.code(204).send();
  });
}
