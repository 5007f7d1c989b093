import { type GitLabMode, KASMAP_ONLY_PREFIX, REST_ROUTES } from "@kasmap/contracts";

/** What GitLab mode does with a request: a `GitLabMode`, or "not proxied" for GraphQL and OAuth. */
export type GitLabModeDecision = GitLabMode | "not_proxied";

const MODE_BY_ROUTE: ReadonlyMap<string, GitLabMode> = new Map(
  REST_ROUTES.map((route) => [`${route.method.toUpperCase()} ${route.path}`, route.gitlabMode]),
);

/**
 * Who answers a request in GitLab mode, from the route Fastify matched (`routeUrl`, e.g.
 * `/api/v4/projects/:id/cluster_agents`; undefined when none matched) and the request path:
 * - a route of `REST_ROUTES`: its `gitlabMode` (HEAD as its GET); a registered route the table
 *   does not name is Kasmap's code, so Kasmap's;
 * - no route, under `/api/v4`: GitLab's (`forward`) — except Kasmap's own `/api/v4/-/…` paths,
 *   which GitLab does not have (a miss there stays Kasmap's 404);
 * - `/api/graphql` and `/oauth/…`: `not_proxied` (Kasmap does not stand in for them);
 * - anything else: Kasmap's (its 404).
 */
export function gitLabModeOf(method: string, routeUrl: string | undefined, path: string): GitLabModeDecision {
  if (routeUrl !== undefined) {
    const verb = method.toUpperCase() === "HEAD" ? "GET" : method.toUpperCase();
    return MODE_BY_ROUTE.get(`${verb} ${routeUrl}`) ?? "kasmap";
  }
  if (path === "/api/graphql" || path.startsWith("/api/graphql/")) return "not_proxied";
  if (path === "/oauth" || path.startsWith("/oauth/")) return "not_proxied";
  if (path === "/api/v4/-" || path.startsWith("/api/v4/-/") || path.startsWith(`${KASMAP_ONLY_PREFIX}/`)) {
    return "kasmap";
  }
  return path === "/api/v4" || path.startsWith("/api/v4/") ? "forward" : "kasmap";
}

/**
 * Why GitLab mode refuses a request target, or null. Kasmap decides who answers from the path
 * as the client wrote it, and GitLab (through Workhorse, or any URL parser on the way) would
 * resolve `.` and `..` segments and read `\` as `/`: `/api/v4/projects/2/cluster_agents/..`
 * would be matched as agent `..` here and answered as project 2 there, and
 * `/api/v4/../graphql` would reach what Kasmap does not proxy. So a path must be one both read
 * alike: origin-form (starting with `/`), no segment that is `.` or `..` (`%2e` counted as a
 * dot), no backslash (plain or `%5c`).
 */
export function ambiguousPathReason(path: string): string | null {
  if (!path.startsWith("/")) return "the request target must be a path starting with /";
  if (/\\|%5c/i.test(path)) return "the path has a backslash";
  for (const segment of path.split("/")) {
    const dots = segment.replace(/%2e/gi, ".");
    if (dots === "." || dots === "..") return "the path has a . or .. segment";
  }
  return null;
}
