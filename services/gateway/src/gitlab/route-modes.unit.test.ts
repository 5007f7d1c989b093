import { REST_ROUTES } from "@kasmap/contracts";
import { describe, expect, it } from "vitest";
import { ambiguousPathReason, gitLabModeOf } from "./route-modes.ts";

const AGENTS = "/api/v4/projects/:id/cluster_agents";

describe("gitLabModeOf", () => {
  it.each([
    // GitLab's own paths that Kasmap serves standalone become GitLab's.
    ["GET", "/api/v4/user", "forward"],
    ["GET", "/api/v4/groups", "forward"],
    ["GET", "/api/v4/projects/:id", "forward"],
    ["POST", "/api/v4/projects", "forward"],
    ["GET", "/api/v4/projects/:id/audit_events", "forward"],
    ["GET", "/api/v4/audit_events", "forward"],
    ["GET", "/api/v4/projects/:id/audit_events/:audit_event_id", "forward"],
    ["GET", "/api/v4/audit_events/:id", "forward"],
    ["POST", `${AGENTS}/:agent_id/tokens`, "forward"],
    ["PUT", `${AGENTS}/:agent_id/configuration`, "forward"],
    ["POST", "/api/v4/projects/:id/jobs", "forward"],
    // GitLab's agent reads: forwarded, cluster_info added on request.
    ["GET", AGENTS, "enrich"],
    ["GET", `${AGENTS}/:agent_id`, "enrich"],
    ["HEAD", `${AGENTS}/:agent_id`, "enrich"],
    ["GET", "/api/v4/job/allowed_agents", "enrich"],
    // Kasmap's extensions, on paths GitLab does not have.
    ["GET", `${AGENTS}/:agent_id/cluster_info`, "kasmap"],
    ["GET", `${AGENTS}/:agent_id/cluster_info/history`, "kasmap"],
    ["POST", `${AGENTS}/:agent_id/cluster_info/verify`, "kasmap"],
    ["GET", `${AGENTS}/:agent_id/authorization/explain`, "kasmap"],
    ["GET", `${AGENTS}/:agent_id/deployable_by`, "kasmap"],
    ["GET", "/api/v4/clusters/lookup", "kasmap"],
    ["POST", `${AGENTS}/:agent_id/collector_tokens`, "kasmap"],
    ["GET", "/api/v4/groups/:id/cluster_agents", "kasmap"],
    ["GET", "/api/v4/events/stream", "kasmap"],
    ["GET", "/api/v4/-/kasmap/projects/:id/audit_events", "kasmap"],
    ["GET", "/api/v4/-/kasmap/audit_events", "kasmap"],
    ["GET", "/api/v4/-/kasmap/projects/:id/audit_events/:audit_event_id", "kasmap"],
    ["GET", "/api/v4/-/kasmap/audit_events/:id", "kasmap"],
    ["GET", "/api/v4/openapi.json", "kasmap"],
    ["GET", "/-/readiness", "kasmap"],
  ])("%s %s → %s", (method, route, mode) => {
    expect(gitLabModeOf(method, route, "/unused")).toBe(mode);
  });

  it.each([
    ["/api/v4/version", "forward"],
    ["/api/v4/projects/7/merge_requests", "forward"],
    ["/api/v4", "forward"],
    ["/api/graphql", "not_proxied"],
    ["/oauth/token", "not_proxied"],
    ["/api/v4/-/kasmap/nothing-here", "kasmap"],
    ["/api/v4/-/gitlab/unknown", "kasmap"],
    ["/users/sign_in", "kasmap"],
    ["/api/v3/projects", "kasmap"],
  ])("a path no route matched, %s → %s", (path, mode) => {
    expect(gitLabModeOf("GET", undefined, path)).toBe(mode);
  });

  it("decides every route of REST_ROUTES, and keeps Kasmap's own on paths GitLab does not have", () => {
    const kasmapOnGitLabPaths = REST_ROUTES.filter(
      (route) =>
        route.gitlabMode === "kasmap" &&
        route.path.startsWith("/api/v4/") &&
        !/(cluster_info|collector_tokens|authorization\/explain|deployable_by|allowed_agents|clusters\/lookup|groups\/:id\/cluster_agents|events\/stream|openapi|asyncapi|docs|\/-\/)/.test(
          route.path,
        ),
    ).map((route) => `${route.method} ${route.path}`);
    expect(kasmapOnGitLabPaths).toEqual([]);
  });
});

describe("ambiguousPathReason", () => {
  it.each([
    "/api/v4/projects/2/cluster_agents/..",
    "/api/v4/projects/2/cluster_agents/.",
    "/api/v4/projects/2/cluster_agents/%2e%2E",
    "/api/v4/projects/2/cluster_agents/.%2e/x",
    "/api/v4/../graphql",
    "/api/v4/%2E/user",
    "/api/v4/projects/2\\..",
    "/api/v4/projects/2%5c..",
    "/api/v4/projects/2%5Cx",
    "http://gitlab.example.com/api/v4/user",
    "*",
  ])("refuses %s", (path) => {
    expect(ambiguousPathReason(path)).not.toBeNull();
  });

  it.each([
    "/api/v4/projects/2/cluster_agents/7",
    "/api/v4/projects/group%2Fproject",
    "/api/v4/projects/2/repository/files/a..b.yaml/raw",
    "/api/v4/projects/2/repository/files/.gitlab%2Fagents%2Fa%2Fconfig.yaml/raw",
    "/api/v4/projects/2/...",
    "/",
  ])("lets %s through", (path) => {
    expect(ambiguousPathReason(path)).toBeNull();
  });
});
