import { CreateAgentTokenBodySchema, PaginationQuerySchema } from "@kasmap/contracts";
import type { FastifyInstance } from "fastify";
import { userOf } from "../auth/principal-of-request.ts";
import type { GatewayContext } from "../context.ts";
import { agentTokenBody } from "../http/gitlab-bodies.ts";
import { paginationHeaders } from "../http/pagination.ts";
import { checkParams, mergedParams, parseParams } from "../http/request-params.ts";
import { requestUrl } from "../http/request-url.ts";
import { findActiveAgentToken, listActiveAgentTokens } from "../read-model/agent-queries.ts";
import {
  administeredAgent,
  agentIdParam,
  integerParam,
  readableAgent,
  recordNotFound,
} from "./agent-lookup.ts";
import { commandActor, forwardCommand, rethrowNotFoundAs } from "./forward-command.ts";
import type { AgentParams, AgentTokenParams } from "./route-params.ts";
import { validAgentToken } from "./valid-agent-token.ts";

/**
 * `/api/v4/projects/:id/cluster_agents/:agent_id/tokens` (GitLab's `API::Clusters::AgentTokens`).
 * As in Grape, `agent_id`, `token_id`, the pagination and `name` (its presence only) are checked
 * right after authentication, before the project or any role (`checkParams`).
 */
export function registerAgentTokenRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const base = "/api/v4/projects/:id/cluster_agents/:agent_id/tokens";

  app.get<AgentParams>(base, async (request, reply) => {
    const user = await userOf(ctx, request);
    const [agentId, query] = checkParams(
      () => agentIdParam(request.params.agent_id),
      () => parseParams(PaginationQuerySchema, request.query),
    );
    const { agent } = await readableAgent(ctx, user, request.params.id, agentId);
    const page = { page: query.page, perPage: query.per_page };
    const { tokens, total } = await listActiveAgentTokens(ctx.db, agent.id, "agent", page);
    const bodies = tokens.map((token) => agentTokenBody(token, { lastUsed: false }));
    return reply.headers(paginationHeaders(requestUrl(request, ctx.externalUrl), page, total)).send(bodies);
  });

  app.get<AgentTokenParams>(`${base}/:token_id`, async (request) => {
    const user = await userOf(ctx, request);
    const [agentId, tokenId] = checkParams(
      () => agentIdParam(request.params.agent_id),
      () => integerParam("token_id", request.params.token_id),
    );
    const { agent } = await readableAgent(ctx, user, request.params.id, agentId);
    const token = tokenId === null ? null : await findActiveAgentToken(ctx.db, agent.id, tokenId);
    if (!token) throw recordNotFound();
    return agentTokenBody(token, { lastUsed: true });
  });

  app.post<AgentParams>(base, async (request, reply) => {
    const user = await userOf(ctx, request);
    const [agentId, params] = checkParams(
      () => agentIdParam(request.params.agent_id),
      () => parseParams(CreateAgentTokenBodySchema, mergedParams(request.query, request.body)),
    );
    const { project, agent } = await administeredAgent(ctx, user, request.params.id, agentId);
    const { name, description } = await validAgentToken(ctx, agent.id, "agent", params);
    const { token, plaintext } = await forwardCommand(ctx, "agent_token.create", {
      ...commandActor(ctx, request, user.id),
      project_id: project.id,
      agent_id: agent.id,
      name,
      description,
    });
    return reply.code(201).send({ ...agentTokenBody(token, { lastUsed: true }), token: plaintext });
  });

  app.delete<AgentTokenParams>(`${base}/:token_id`, async (request, reply) => {
    const user = await userOf(ctx, request);
    const [agentId, tokenId] = checkParams(
      () => agentIdParam(request.params.agent_id),
      () => integerParam("token_id", request.params.token_id),
    );
    const { project, agent } = await administeredAgent(ctx, user, request.params.id, agentId);
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
