import { CreateAgentTokenBodySchema, KasmapError, NOT_FOUND, PaginationQuerySchema } from "@kasmap/contracts";
import type { FastifyInstance } from "fastify";
import { userOf } from "../auth/principal-of-request.ts";
import type { GatewayContext } from "../context.ts";
import { collectorTokenBody, isoTime } from "../http/gitlab-bodies.ts";
import { paginationHeaders } from "../http/pagination.ts";
import { checkParams, mergedParams, parseParams } from "../http/request-params.ts";
import { requestUrl } from "../http/request-url.ts";
import { listActiveAgentTokens } from "../read-model/agent-queries.ts";
import { parseNumericId } from "../read-model/resource-id.ts";
import { administeredAgent, agentIdParam } from "./agent-lookup.ts";
import { commandActor, forwardCommand } from "./forward-command.ts";
import type { AgentParams, AgentTokenParams } from "./route-params.ts";
import { validAgentToken } from "./valid-agent-token.ts";

/**
 * `/api/v4/projects/:id/cluster_agents/:agent_id/collector_tokens` (Kasmap extension, issue 9
 * item 5): the tokens a collector presents in `KASMAP_AGENT_TOKEN` instead of an agent token.
 * Every call needs Maintainer+ (`admin_cluster`), as managing agent tokens does in GitLab; the
 * role is checked before the agent is looked up, so a caller below it learns nothing of agents.
 * Parameters are checked first and a token's name and description by GitLab's agent token model,
 * with the same answers as `…/tokens` (`agent-token-routes.ts`).
 */
export function registerCollectorTokenRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const base = "/api/v4/projects/:id/cluster_agents/:agent_id/collector_tokens";

  app.get<AgentParams>(base, async (request, reply) => {
    const user = await userOf(ctx, request);
    const [agentId, query] = checkParams(
      () => agentIdParam(request.params.agent_id),
      () => parseParams(PaginationQuerySchema, request.query),
    );
    const { agent } = await administeredAgent(ctx, user, request.params.id, agentId);
    const page = { page: query.page, perPage: query.per_page };
    const { tokens, total } = await listActiveAgentTokens(ctx.db, agent.id, "collector", page);
    return reply
      .headers(paginationHeaders(requestUrl(request, ctx.externalUrl), page, total))
      .send(tokens.map(collectorTokenBody));
  });

  app.post<AgentParams>(base, async (request, reply) => {
    const user = await userOf(ctx, request);
    const [agentId, params] = checkParams(
      () => agentIdParam(request.params.agent_id),
      () => parseParams(CreateAgentTokenBodySchema, mergedParams(request.query, request.body)),
    );
    const { project, agent } = await administeredAgent(ctx, user, request.params.id, agentId);
    const { name, description } = await validAgentToken(ctx, agent.id, "collector", params);
    const { token, plaintext } = await forwardCommand(ctx, "collector_token.create", {
      ...commandActor(ctx, request, user.id),
      project_id: project.id,
      agent_id: agent.id,
      name,
      description,
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
    const user = await userOf(ctx, request);
    const [agentId] = checkParams(() => agentIdParam(request.params.agent_id));
    const { project, agent } = await administeredAgent(ctx, user, request.params.id, agentId);
    const tokenId = parseNumericId(request.params.token_id);
    if (tokenId === null) throw new KasmapError("not_found", NOT_FOUND.collectorToken);
    await forwardCommand(ctx, "collector_token.revoke", {
      ...commandActor(ctx, request, user.id),
      project_id: project.id,
      agent_id: agent.id,
      token_id: tokenId,
    });
    return reply.code(204).send();
  });
}
