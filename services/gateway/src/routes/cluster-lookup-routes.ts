import { parseCidr, parseIp } from "@kasmap/cluster-info";
import { type ClusterLookupEntry, ClusterLookupQuerySchema } from "@kasmap/contracts";
import type { FastifyInstance } from "fastify";
import { userOf } from "../auth/principal-of-request.ts";
import type { GatewayContext } from "../context.ts";
import { agentBody } from "../http/gitlab-bodies.ts";
import { paginationHeaders } from "../http/pagination.ts";
import { checkParams, invalidParams, parseParams } from "../http/request-params.ts";
import { requestUrl } from "../http/request-url.ts";
import { type AddressQuery, lookUpAgentsByAddress } from "../read-model/cluster-address-queries.ts";
import { deployableBy } from "../read-model/deployable-by-queries.ts";
import { agentIdParam, readableAgent } from "./agent-lookup.ts";
import type { AgentParams } from "./route-params.ts";

/**
 * `GET /api/v4/clusters/lookup?ip=52.1.2.3` or `?cidr=10.0.0.0/16` (Kasmap extension): the agents
 * the caller may read (Developer+ on the configuration project; admins all) whose latest
 * snapshot holds the address or overlaps the range, each with the matching addresses, a cluster
 * summary and who can deploy there. Paginated as GitLab lists are. An agent the caller may not
 * read is left out silently, as GitLab's lists do.
 */
export function registerClusterLookupRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.get("/api/v4/clusters/lookup", async (request, reply) => {
    const user = await userOf(ctx, request);
    const params = parseParams(ClusterLookupQuerySchema, request.query);
    const query = addressQueryOf(params);
    const page = { page: params.page, perPage: params.per_page };
    const [readable, visible] = await Promise.all([
      ctx.access.projectsWhere(user, "read_cluster_agent"),
      ctx.access.projectsWhere(user, "read_project"),
    ]);
    const { rows, total } = await lookUpAgentsByAddress(ctx.db, readable, query, page);
    const bodies = await Promise.all(
      rows.map(
        async (row): Promise<ClusterLookupEntry> => ({
          agent: agentBody(
            {
              id: row.agent_id,
              name: row.agent_name,
              created_at: row.agent_created_at,
              created_by_user_id: row.agent_created_by_user_id,
            },
            row.project,
          ),
          matches: row.matches,
          matches_total: row.matches_total,
          cluster: row.cluster,
          deployable_by: await deployableBy(ctx.db, visible, row.agent_id),
        }),
      ),
    );
    return reply.headers(paginationHeaders(requestUrl(request, ctx.externalUrl), page, total)).send(bodies);
  });
}

/**
 * `GET /api/v4/projects/:id/cluster_agents/:agent_id/deployable_by` (Kasmap extension): who can
 * deploy with one agent, the `deployable_by` of a lookup without an address to look up. The
 * caller reads it as the agent itself (Developer+ on its configuration project, else 404);
 * `projects` lists only projects the caller may see, `project_count` counts them all.
 */
export function registerDeployableByRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.get<AgentParams>("/api/v4/projects/:id/cluster_agents/:agent_id/deployable_by", async (request) => {
    const user = await userOf(ctx, request);
    const [agentId] = checkParams(() => agentIdParam(request.params.agent_id));
    const { agent } = await readableAgent(ctx, user, request.params.id, agentId);
    return deployableBy(ctx.db, await ctx.access.projectsWhere(user, "read_project"), agent.id);
  });
}

/**
 * Exactly one of `ip` (a literal address) or `cidr` (host bits are cleared, as Go's
 * `net.ParseCIDR` does); Grape-style `400 {"error": …}` otherwise.
 */
export function addressQueryOf(params: { ip?: string | undefined; cidr?: string | undefined }): AddressQuery {
  const { ip, cidr } = params;
  if ((ip === undefined) === (cidr === undefined)) {
    throw invalidParams(["ip, cidr are missing, exactly one parameter must be provided"]);
  }
  if (ip !== undefined) {
    const parsed = parseIp(ip.trim());
    if (!parsed) throw invalidParams(["ip is invalid"]);
    return { kind: "ip", ip: parsed.text };
  }
  const parsed = parseCidr(String(cidr).trim());
  if (!parsed) throw invalidParams(["cidr is invalid"]);
  return { kind: "cidr", cidr: parsed.text };
}
