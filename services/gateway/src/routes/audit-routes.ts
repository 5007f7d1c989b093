import { mayPerform } from "@kasmap/access-rules";
import {
  InstanceAuditEventsQuerySchema,
  KASMAP_ONLY_PREFIX,
  KasmapError,
  PaginationQuerySchema,
  ProjectAuditEventsQuerySchema,
} from "@kasmap/contracts";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { AuthenticatedUser } from "../auth/authenticate.ts";
import { userOf } from "../auth/principal-of-request.ts";
import type { GatewayContext } from "../context.ts";
import { paginationHeaders } from "../http/pagination.ts";
import { parseParams } from "../http/request-params.ts";
import { requestUrl } from "../http/request-url.ts";
import { requireAdmin, visibleProject } from "../permissions/visible-resources.ts";
import { type AuditEventFilter, listAuditEvents } from "../read-model/audit-event-queries.ts";
import { listClusterHistory } from "../read-model/cluster-history-queries.ts";
import type { ProjectRow } from "../read-model/registry-queries.ts";
import { agentInProject } from "./agent-lookup.ts";
import type { AgentParams, IdParams } from "./route-params.ts";

/**
 * The audit log and history: GitLab's project and instance audit events and an agent's snapshot
 * history. The live event stream is `event-stream-routes.ts`; `?at=` on `…/cluster_info` lives
 * with that route in `agent-routes.ts`.
 */
export function registerAuditRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  /**
   * GitLab's `GET /projects/:id/audit_events`: Maintainer+, newest first, paginated. The same
   * answer on the Kasmap-only path, which stays Kasmap's in GitLab mode (where the GitLab path is
   * GitLab's own).
   */
  const projectAuditEvents = async (request: FastifyRequest<IdParams>, reply: FastifyReply) => {
    const user = await userOf(ctx, request);
    const project = await maintainedProject(ctx, user, request.params.id);
    const query = parseParams(ProjectAuditEventsQuerySchema, request.query);
    const page = { page: query.page, perPage: query.per_page };
    const filter: AuditEventFilter = { ...timeFilter(query), entityId: project.id };
    if (query.agent_id !== undefined) filter.agentId = query.agent_id;
    if (query.event_type !== undefined) filter.eventType = query.event_type;
    const { events, total } = await listAuditEvents(ctx.db, filter, page);
    return reply.headers(paginationHeaders(requestUrl(request, ctx.externalUrl), page, total)).send(events);
  };
  app.get<IdParams>("/api/v4/projects/:id/audit_events", projectAuditEvents);
  app.get<IdParams>(`${KASMAP_ONLY_PREFIX}/projects/:id/audit_events`, projectAuditEvents);

  /** GitLab's instance `GET /audit_events`: admins only (403 otherwise); also on the Kasmap-only path. */
  const instanceAuditEvents = async (request: FastifyRequest, reply: FastifyReply) => {
    requireAdmin(await userOf(ctx, request));
    const query = parseParams(InstanceAuditEventsQuerySchema, request.query);
    const page = { page: query.page, perPage: query.per_page };
    const filter: AuditEventFilter = timeFilter(query);
    if (query.entity_type !== undefined && query.entity_type !== "Project") {
      return reply.headers(paginationHeaders(requestUrl(request, ctx.externalUrl), page, 0)).send([]);
    }
    if (query.entity_id !== undefined) filter.entityId = query.entity_id;
    if (query.agent_id !== undefined) filter.agentId = query.agent_id;
    if (query.event_type !== undefined) filter.eventType = query.event_type;
    const { events, total } = await listAuditEvents(ctx.db, filter, page);
    return reply.headers(paginationHeaders(requestUrl(request, ctx.externalUrl), page, total)).send(events);
  };
  app.get("/api/v4/audit_events", instanceAuditEvents);
  app.get(`${KASMAP_ONLY_PREFIX}/audit_events`, instanceAuditEvents);

  /** Every snapshot of the agent, newest first: `{ observed_at, content_hash, cluster_info }`. */
  app.get<AgentParams>(
    "/api/v4/projects/:id/cluster_agents/:agent_id/cluster_info/history",
    async (request, reply) => {
      const user = await userOf(ctx, request);
      const project = await visibleProject(ctx, user, request.params.id, "read_cluster_agent");
      const { agent } = await agentInProject(ctx, project, request.params.agent_id);
      const query = parseParams(PaginationQuerySchema, request.query);
      const page = { page: query.page, perPage: query.per_page };
      const { entries, total } = await listClusterHistory(ctx.db, agent.id, page);
      return reply
        .headers(paginationHeaders(requestUrl(request, ctx.externalUrl), page, total))
        .send(entries);
    },
  );
}

/**
 * The project if `user` is Maintainer+ on it. A caller who cannot see the project gets 404, as
 * everywhere in the gateway; a member below Maintainer, who knows it exists, gets GitLab's 403.
 */
async function maintainedProject(
  ctx: GatewayContext,
  user: AuthenticatedUser,
  rawId: string,
): Promise<ProjectRow> {
  const project = await visibleProject(ctx, user, rawId, "read_project");
  if (user.isAdmin) return project;
  const level = await ctx.access.projectLevel(user, project);
  if (!mayPerform("read_project_audit_events", level, false)) throw new KasmapError("forbidden", "Forbidden");
  return project;
}

function timeFilter(query: { created_after?: string; created_before?: string }): AuditEventFilter {
  const filter: AuditEventFilter = {};
  if (query.created_after !== undefined) filter.createdAfter = query.created_after;
  if (query.created_before !== undefined) filter.createdBefore = query.created_before;
  return filter;
}
