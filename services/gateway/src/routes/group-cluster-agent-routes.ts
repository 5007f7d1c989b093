import { GroupClusterAgentsQuerySchema } from "@kasmap/contracts";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { userOf } from "../auth/principal-of-request.ts";
import type { GatewayContext } from "../context.ts";
import { agentBody } from "../http/gitlab-bodies.ts";
import { inventoryCsv } from "../http/inventory-csv.ts";
import { paginationHeaders } from "../http/pagination.ts";
import { parseParams } from "../http/request-params.ts";
import { requestUrl } from "../http/request-url.ts";
import { visibleGroup } from "../permissions/visible-resources.ts";
import { groupInventory, listGroupAgents } from "../read-model/group-agent-queries.ts";
import { withClusterInfoIfAsked } from "./agent-lookup.ts";
import type { IdParams } from "./route-params.ts";

/**
 * `GET /api/v4/groups/:id/cluster_agents[?include_subgroups=true][&with_cluster_info=true]`
 * (Kasmap extension, shaped as GitLab's group listings): the agents whose configuration project
 * lies in the group, or in its whole subtree, that the caller may read (Developer+ on the
 * project), by project path then name, with GitLab's pagination headers. `?format=csv` or
 * `Accept: text/csv` exports every such agent (not paginated) as one CSV record each.
 */
export function registerGroupClusterAgentRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.get<IdParams>("/api/v4/groups/:id/cluster_agents", async (request, reply) => {
    const user = await userOf(ctx, request);
    const group = await visibleGroup(ctx, user, request.params.id);
    const query = parseParams(GroupClusterAgentsQuerySchema, request.query);
    const scope = { group, includeSubgroups: query.include_subgroups };
    const readable = await ctx.access.projectsWhere(user, "read_cluster_agent");
    if (wantsCsv(request, query.format)) {
      const rows = await groupInventory(ctx.db, readable, scope);
      const filename = `cluster-agents-${group.full_path.replaceAll("/", "-")}.csv`;
      return reply
        .type("text/csv; charset=utf-8")
        .header("content-disposition", `attachment; filename="${filename}"`)
        .header("x-total", String(rows.length))
        .send(inventoryCsv(rows, Date.now()));
    }
    const page = { page: query.page, perPage: query.per_page };
    const { agents, total } = await listGroupAgents(ctx.db, readable, scope, page);
    const bodies = await Promise.all(
      agents.map(({ agent, project }) =>
        withClusterInfoIfAsked(ctx, agentBody(agent, project), agent.id, query.with_cluster_info),
      ),
    );
    return reply.headers(paginationHeaders(requestUrl(request, ctx.externalUrl), page, total)).send(bodies);
  });
}

/** `?format=` wins; otherwise an `Accept` header naming `text/csv` (and not JSON first). */
function wantsCsv(request: FastifyRequest, format: "json" | "csv" | undefined): boolean {
  if (format !== undefined) return format === "csv";
  const accept = request.headers.accept ?? "";
  const csvAt = accept.indexOf("text/csv");
  if (csvAt < 0) return false;
  const jsonAt = accept.indexOf("application/json");
  return jsonAt < 0 || csvAt < jsonAt;
}
