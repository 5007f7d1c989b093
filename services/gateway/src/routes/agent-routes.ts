import {
  AgentNameSchema,
  ClusterInfoAtQuerySchema,
  CreateAgentBodySchema,
  PaginationQuerySchema,
  REFUSED_AGENT_NAME_MAX_CHARS,
  WithClusterInfoQuerySchema,
} from "@kasmap/contracts";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { userOf } from "../auth/principal-of-request.ts";
import type { GatewayContext } from "../context.ts";
import { agentBodyJson } from "../http/agent-body-json.ts";
import { agentBody } from "../http/gitlab-bodies.ts";
import { asFullMessages, fullMessagesBadRequest } from "../http/model-errors.ts";
import { paginationHeaders } from "../http/pagination.ts";
import { checkParams, mergedParams, parseParams } from "../http/request-params.ts";
import { requestUrl } from "../http/request-url.ts";
import { agentsNotFound, requireProjectRole } from "../permissions/project-role.ts";
import { visibleProject } from "../permissions/visible-resources.ts";
import { listProjectAgents } from "../read-model/agent-queries.ts";
import { loadClusterFactsAt } from "../read-model/cluster-history-queries.ts";
import {
  administeredAgent,
  agentIdParam,
  agentReadBody,
  clusterInfoBody,
  readableAgent,
  withClusterInfoIfAsked,
} from "./agent-lookup.ts";
import { commandActor, forwardCommand } from "./forward-command.ts";
import type { AgentParams, IdParams } from "./route-params.ts";

const ListQuerySchema = PaginationQuerySchema.extend(WithClusterInfoQuerySchema.shape);
// GitLab validates the name in the model (400 with field errors), not as a Grape parameter:
// authz does, and the gateway only for names too long to record.
const AgentNameFieldSchema = z.object({ name: AgentNameSchema });
// What Fastify sets for the bodies it serializes; a string sent with it is passed through as is.
const JSON_CONTENT_TYPE = "application/json";

/**
 * `/api/v4/projects/:id/cluster_agents[/:agent_id[/cluster_info]]` (GitLab's `API::Clusters::Agents`).
 * Each route checks its parameters right after authentication and before the project or any role
 * (`checkParams`), as Grape validates them before the endpoint runs: `agent_id=abc` is `400
 * agent_id is invalid` even for a project that does not exist, a missing `name` is `400 name is
 * missing` even for a Developer. Whether the project, the role and the agent are there comes after.
 */
export function registerAgentRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const base = "/api/v4/projects/:id/cluster_agents";

  app.get<IdParams>(base, async (request, reply) => {
    const user = await userOf(ctx, request);
    const [query] = checkParams(() => parseParams(ListQuerySchema, request.query));
    const project = await visibleProject(ctx, user, request.params.id, "read_project");
    await requireProjectRole(ctx, user, project, "read_cluster_agent", agentsNotFound);
    const page = { page: query.page, perPage: query.per_page };
    const { agents, total } = await listProjectAgents(ctx.db, project.id, page);
    const bodies = await Promise.all(
      agents.map((agent) =>
        withClusterInfoIfAsked(ctx, agentBody(agent, project), agent.id, query.with_cluster_info),
      ),
    );
    return reply.headers(paginationHeaders(requestUrl(request, ctx.externalUrl), page, total)).send(bodies);
  });

  // The hot read: the body is spliced from cached JSON text (see agent-body-json.ts), with
  // cluster_info kept as rendered bytes (`agentReadBody`), and sent with a JSON content type,
  // which Fastify passes through without serializing again.
  app.get<AgentParams>(`${base}/:agent_id`, async (request, reply) => {
    const user = await userOf(ctx, request);
    const [agentId, query] = checkParams(
      () => agentIdParam(request.params.agent_id),
      () => parseParams(WithClusterInfoQuerySchema, request.query),
    );
    const { project, agent } = await readableAgent(ctx, user, request.params.id, agentId);
    const body = query.with_cluster_info
      ? await agentReadBody(ctx, agent, project)
      : agentBodyJson(agent, project);
    return reply.type(JSON_CONTENT_TYPE).send(body);
  });

  /**
   * The agent's `cluster_info` alone. An agent whose collector has not reported yet answers
   * `200 null`, not 404: the agent exists and the caller may see it; "no facts yet" is data.
   */
  app.get<AgentParams>(`${base}/:agent_id/cluster_info`, async (request, reply) => {
    const user = await userOf(ctx, request);
    const [agentId, { at }] = checkParams(
      () => agentIdParam(request.params.agent_id),
      () => parseParams(ClusterInfoAtQuerySchema, request.query),
    );
    const { agent } = await readableAgent(ctx, user, request.params.id, agentId);
    // `?at=`: the facts of that time, without deployment_status/last_connection (only the
    // latest heartbeat is kept, so the connection state of the past is unknown).
    const body =
      at === undefined
        ? await clusterInfoBody(ctx, agent.id)
        : JSON.stringify(await loadClusterFactsAt(ctx.db, agent.id, at));
    return reply.type(JSON_CONTENT_TYPE).send(body);
  });

  app.post<IdParams>(base, async (request, reply) => {
    const user = await userOf(ctx, request);
    // Grape's `requires :name` first; then `authorize!`: a Developer gets 403 whatever the name.
    const [{ name }] = checkParams(() =>
      parseParams(CreateAgentBodySchema, mergedParams(request.query, request.body)),
    );
    const project = await visibleProject(ctx, user, request.params.id, "read_project");
    await requireProjectRole(ctx, user, project, "admin_cluster");
    // authz validates the name, so that GitLab's `cluster_agent_create_failed` records a refusal;
    // only a name too long to record is refused here, with the same model errors.
    if (name.length > REFUSED_AGENT_NAME_MAX_CHARS) {
      const checked = AgentNameFieldSchema.safeParse({ name });
      throw fullMessagesBadRequest({ name: checked.error?.issues.map((i) => i.message) ?? [] });
    }
    const agent = await forwardCommand(ctx, "agent.create", {
      ...commandActor(ctx, request, user.id),
      project_id: project.id,
      name,
    }).catch((error: unknown) => {
      throw asFullMessages(error);
    });
    return reply.code(201).send(agentBody(agent, project));
  });

  app.delete<AgentParams>(`${base}/:agent_id`, async (request, reply) => {
    const user = await userOf(ctx, request);
    const [agentId] = checkParams(() => agentIdParam(request.params.agent_id));
    const { project, agent } = await administeredAgent(ctx, user, request.params.id, agentId);
    await forwardCommand(ctx, "agent.delete", {
      ...commandActor(ctx, request, user.id),
      project_id: project.id,
      agent_id: agent.id,
    });
    return reply.code(204).send();
  });
}
