import { mayPerform } from "@kasmap/access-rules";
import {
  type AuditEventResponse,
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
import { type KeysetQuery, keysetHeaders, keysetPageOf } from "../http/keyset-pagination.ts";
import { paginationHeaders } from "../http/pagination.ts";
import { checkParams, parseParams } from "../http/request-params.ts";
import { requestUrl } from "../http/request-url.ts";
import { requireAdmin, visibleProject } from "../permissions/visible-resources.ts";
import {
  type AuditEventFilter,
  findAuditEvent,
  listAuditEvents,
  listAuditEventsKeyset,
} from "../read-model/audit-event-queries.ts";
import { listClusterHistoryJson } from "../read-model/cluster-history-queries.ts";
import { agentIdParam, integerParam, readableAgent, recordNotFound } from "./agent-lookup.ts";
import type { AgentParams, AuditEventParams, IdParams } from "./route-params.ts";

/**
 * The audit log and history: GitLab's project and instance audit events and an agent's snapshot
 * history. The live event stream is `event-stream-routes.ts`; `?at=` on `…/cluster_info` lives
 * with that route in `agent-routes.ts`.
 */
export function registerAuditRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  /**
   * GitLab's `GET /projects/:id/audit_events`: Maintainer+ all events, a Developer their own,
   * newest first, offset or keyset pages. The same answer on the Kasmap-only path, which stays Kasmap's in GitLab mode (where
   * the GitLab path is GitLab's own).
   */
  const projectAuditEvents = async (request: FastifyRequest<IdParams>, reply: FastifyReply) => {
    const user = await userOf(ctx, request);
    const visible = await auditedProject(ctx, user, request.params.id);
    const query = parseParams(ProjectAuditEventsQuerySchema, request.query);
    const filter: AuditEventFilter = { ...timeFilter(query), ...visible };
    if (query.agent_id !== undefined) filter.agentId = query.agent_id;
    if (query.event_type !== undefined) filter.eventType = query.event_type;
    return sendAuditEventPage(ctx, request, reply, query, filter);
  };
  app.get<IdParams>("/api/v4/projects/:id/audit_events", projectAuditEvents);
  app.get<IdParams>(`${KASMAP_ONLY_PREFIX}/projects/:id/audit_events`, projectAuditEvents);

  /**
   * GitLab's `GET /projects/:id/audit_events/:audit_event_id`: as the list, for one event of
   * that project; an id of another project's event (or, for a Developer, another author's) is
   * `404 Not found` like an unknown one (GitLab's `find_by!` within the events the list shows).
   */
  const projectAuditEvent = async (request: FastifyRequest<AuditEventParams>) => {
    const user = await userOf(ctx, request);
    const visible = await auditedProject(ctx, user, request.params.id);
    return auditEventOr404(ctx, visible, "audit_event_id", request.params.audit_event_id);
  };
  app.get<AuditEventParams>("/api/v4/projects/:id/audit_events/:audit_event_id", projectAuditEvent);
  app.get<AuditEventParams>(
    `${KASMAP_ONLY_PREFIX}/projects/:id/audit_events/:audit_event_id`,
    projectAuditEvent,
  );

  /** GitLab's instance `GET /audit_events`: admins only (403 otherwise); also on the Kasmap-only path. */
  const instanceAuditEvents = async (request: FastifyRequest, reply: FastifyReply) => {
    requireAdmin(await userOf(ctx, request));
    const query = parseParams(InstanceAuditEventsQuerySchema, request.query);
    const filter: AuditEventFilter = timeFilter(query);
    if (query.entity_type !== undefined && query.entity_type !== "Project") {
      // Kasmap records only project-scoped events: another entity type matches nothing.
      filter.entityId = 0;
    }
    if (query.entity_id !== undefined && filter.entityId === undefined) filter.entityId = query.entity_id;
    if (query.agent_id !== undefined) filter.agentId = query.agent_id;
    if (query.event_type !== undefined) filter.eventType = query.event_type;
    return sendAuditEventPage(ctx, request, reply, query, filter);
  };
  app.get("/api/v4/audit_events", instanceAuditEvents);
  app.get(`${KASMAP_ONLY_PREFIX}/audit_events`, instanceAuditEvents);

  /** GitLab's instance `GET /audit_events/:id`: admins only; `404 Not found` for an unknown id. */
  const instanceAuditEvent = async (request: FastifyRequest<IdParams>) => {
    requireAdmin(await userOf(ctx, request));
    return auditEventOr404(ctx, {}, "id", request.params.id);
  };
  app.get<IdParams>("/api/v4/audit_events/:id", instanceAuditEvent);
  app.get<IdParams>(`${KASMAP_ONLY_PREFIX}/audit_events/:id`, instanceAuditEvent);

  /** Every snapshot of the agent, newest first: `{ observed_at, content_hash, cluster_info }`. */
  app.get<AgentParams>(
    "/api/v4/projects/:id/cluster_agents/:agent_id/cluster_info/history",
    async (request, reply) => {
      const user = await userOf(ctx, request);
      const [agentId, query] = checkParams(
        () => agentIdParam(request.params.agent_id),
        () => parseParams(PaginationQuerySchema, request.query),
      );
      const { agent } = await readableAgent(ctx, user, request.params.id, agentId);
      const page = { page: query.page, perPage: query.per_page };
      const { json, total } = await listClusterHistoryJson(ctx.db, agent.id, page);
      return reply
        .headers(paginationHeaders(requestUrl(request, ctx.externalUrl), page, total))
        .type("application/json; charset=utf-8")
        .send(json);
    },
  );
}

/**
 * The project's audit events `user` may read, as a filter: all of them for Maintainer+ (GitLab's
 * `admin_project`), a Developer's own (`author_id`, ee/lib/ee/api/projects.rb
 * `filter_by_author`). A caller who cannot see the project gets 404, as everywhere in the
 * gateway; a member below Developer, who knows it exists, gets GitLab's 403.
 */
async function auditedProject(
  ctx: GatewayContext,
  user: AuthenticatedUser,
  rawId: string,
): Promise<{ entityId: number; authorId?: number }> {
  const project = await visibleProject(ctx, user, rawId, "read_project");
  if (user.isAdmin) return { entityId: project.id };
  const level = await ctx.access.projectLevel(user, project);
  if (!mayPerform("read_project_audit_events", level, false)) throw new KasmapError("forbidden", "Forbidden");
  if (mayPerform("admin_project", level, false)) return { entityId: project.id };
  return { entityId: project.id, authorId: user.id };
}

/**
 * A list of audit events as `query` pages it: GitLab's keyset pages (`pagination=keyset`, only a
 * `Link: rel="next"`) or offset pages with GitLab's offset headers.
 */
async function sendAuditEventPage(
  ctx: GatewayContext,
  request: FastifyRequest,
  reply: FastifyReply,
  query: KeysetQuery & { page: number },
  filter: AuditEventFilter,
) {
  const url = requestUrl(request, ctx.externalUrl);
  const keyset = keysetPageOf(query);
  if (keyset !== null) {
    const { events, nextAfterId } = await listAuditEventsKeyset(ctx.db, filter, keyset);
    return reply.headers(keysetHeaders(url, keyset, nextAfterId)).send(events);
  }
  const page = { page: query.page, perPage: query.per_page };
  const { events, total } = await listAuditEvents(ctx.db, filter, page);
  return reply.headers(paginationHeaders(url, page, total)).send(events);
}

/** The event `raw` names among those `filter` shows, or GitLab's `404 Not found` (`lib/api/api.rb`). */
async function auditEventOr404(
  ctx: GatewayContext,
  filter: AuditEventFilter,
  name: string,
  raw: string,
): Promise<AuditEventResponse> {
  // GitLab declares the id `type: Integer`: 400 unless an integer, 404 for one naming no event.
  const id = integerParam(name, raw);
  const event = id === null ? null : await findAuditEvent(ctx.db, filter, id);
  if (event === null) throw recordNotFound();
  return event;
}

function timeFilter(query: { created_after?: string; created_before?: string }): AuditEventFilter {
  const filter: AuditEventFilter = {};
  if (query.created_after !== undefined) filter.createdAfter = query.created_after;
  if (query.created_before !== undefined) filter.createdBefore = query.created_before;
  return filter;
}
