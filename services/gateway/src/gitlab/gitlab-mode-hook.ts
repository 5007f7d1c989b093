import { WithClusterInfoQuerySchema } from "@kasmap/contracts";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { GatewayContext } from "../context.ts";
import { type AgentAnswerShape, forwardWithClusterInfo } from "./enrich-with-cluster-info.ts";
import { forwardToGitLab } from "./forward-to-gitlab.ts";
import type { GitLabUpstream } from "./gitlab-upstream.ts";
import { ambiguousPathReason, gitLabModeOf } from "./route-modes.ts";

/** Where the agents sit in the answers of the `enrich` routes. */
const ENRICHED_SHAPES: ReadonlyMap<string, AgentAnswerShape> = new Map([
  ["/api/v4/projects/:id/cluster_agents", "agents"],
  ["/api/v4/projects/:id/cluster_agents/:agent_id", "agent"],
  ["/api/v4/job/allowed_agents", "allowed_agents"],
]);

/**
 * GitLab mode's front door, run on every request before anything else (no body read, no
 * authentication): a path GitLab could read otherwise than Kasmap routed it is refused (400,
 * `ambiguousPathReason`), GitLab's routes are forwarded (`forward`, and `enrich` without
 * `?with_cluster_info=true`), `enrich` routes with it get `cluster_info` added, GraphQL and OAuth
 * answer that they are not proxied, and Kasmap's own routes go on to their handlers, where the
 * GitLab access source decides access. The table is `gitlabMode` in `REST_ROUTES`.
 */
export function registerGitLabMode(
  app: FastifyInstance,
  ctx: GatewayContext,
  upstream: GitLabUpstream,
): void {
  app.addHook("onRequest", async (request: FastifyRequest, reply: FastifyReply) => {
    const path = (request.raw.url ?? "/").split("?")[0] ?? "/";
    const ambiguous = ambiguousPathReason(path);
    if (ambiguous !== null) return reply.code(400).send({ message: `400 Bad request - ${ambiguous}` });
    const routeUrl = request.routeOptions.url;
    const mode = gitLabModeOf(request.method, routeUrl, path);
    if (mode === "kasmap") return;
    if (mode === "not_proxied") return reply.code(404).send({ message: notProxiedMessage(path) });
    const shape = mode === "enrich" && routeUrl !== undefined ? ENRICHED_SHAPES.get(routeUrl) : undefined;
    if (shape !== undefined && request.method === "GET" && asksForClusterInfo(request.query)) {
      return forwardWithClusterInfo(ctx, upstream, request, reply, shape, agentIdParam(request.params));
    }
    await forwardToGitLab(ctx, upstream, request, reply);
    return reply;
  });
}

/** The route's `:agent_id` as GitLab reads an Integer parameter; undefined when there is none. */
function agentIdParam(params: unknown): number | undefined {
  const value =
    typeof params === "object" && params !== null ? (params as { agent_id?: unknown }).agent_id : undefined;
  return typeof value === "string" && /^\d{1,15}$/.test(value) ? Number(value) : undefined;
}

/** `?with_cluster_info=true` as Kasmap reads it; anything else is GitLab's business (forwarded as is). */
function asksForClusterInfo(query: unknown): boolean {
  const parsed = WithClusterInfoQuerySchema.safeParse(query);
  return parsed.success && parsed.data.with_cluster_info === true;
}

function notProxiedMessage(path: string): string {
  const what = path.startsWith("/oauth") ? "GitLab's OAuth endpoints" : "GitLab's GraphQL API";
  return `404 Not Found - Kasmap does not proxy ${what}; call GitLab directly`;
}
