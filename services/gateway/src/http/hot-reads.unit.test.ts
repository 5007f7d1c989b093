import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { AGENT_READ_ROUTE, hotAgentReadIds } from "./hot-reads.ts";

/** Fastify with the gateway's router options and the hot route's neighbours. */
function routerLikeTheGateway() {
  const app = Fastify({ routerOptions: { maxParamLength: 2048, ignoreTrailingSlash: true } });
  const echo = async (request: { routeOptions: { url?: string }; params: unknown; query: unknown }) => ({
    route: request.routeOptions.url,
    params: request.params,
    query: request.query,
  });
  for (const route of [
    AGENT_READ_ROUTE,
    "/api/v4/projects/:id/cluster_agents",
    "/api/v4/projects/:id/cluster_agents/:agent_id/cluster_info",
    "/api/v4/projects/:id",
  ]) {
    app.get(route, echo);
  }
  return app;
}

const URLS = [
  "/api/v4/projects/20/cluster_agents/300?with_cluster_info=true",
  "/api/v4/projects/1/cluster_agents/999999999999999?with_cluster_info=true",
  "/api/v4/projects/20/cluster_agents/300",
  "/api/v4/projects/20/cluster_agents/300?with_cluster_info=1",
  "/api/v4/projects/20/cluster_agents/300?with_cluster_info=true&private_token=x",
  "/api/v4/projects/20/cluster_agents/300/?with_cluster_info=true",
  "/api/v4/projects/020/cluster_agents/300?with_cluster_info=true",
  "/api/v4/projects/0/cluster_agents/300?with_cluster_info=true",
  "/api/v4/projects/-1/cluster_agents/300?with_cluster_info=true",
  "/api/v4/projects/%32%30/cluster_agents/300?with_cluster_info=true",
  "/api/v4/projects/group%2Fproject/cluster_agents/300?with_cluster_info=true",
  "/api/v4/projects/20/cluster_agents/1e3?with_cluster_info=true",
  "/api/v4/projects/20/cluster_agents/9999999999999999?with_cluster_info=true",
  "/api/v4/projects/20/cluster_agents/300/cluster_info?with_cluster_info=true",
  "/api/v4/projects/20/cluster_agents?with_cluster_info=true",
  "/api/v4//projects/20/cluster_agents/300?with_cluster_info=true",
  "/API/v4/projects/20/cluster_agents/300?with_cluster_info=true",
  "/api/v4/projects/20/cluster_agents/300?with_cluster_info=true#x",
];

describe("hotAgentReadIds", () => {
  it("takes exactly the canonical URLs, which Fastify routes to the same route with the same ids", async () => {
    const app = routerLikeTheGateway();
    const taken: string[] = [];
    for (const url of URLS) {
      const ids = hotAgentReadIds({ method: "GET", url, rawHeaders: [] });
      if (ids === null) continue;
      taken.push(url);
      const answer = await app.inject({ method: "GET", url });
      expect(answer.json(), url).toEqual({
        route: AGENT_READ_ROUTE,
        params: { id: String(ids.projectId), agent_id: String(ids.agentId) },
        query: { with_cluster_info: "true" },
      });
    }
    expect(taken).toEqual([URLS[0], URLS[1]]);
    expect(hotAgentReadIds({ method: "GET", url: URLS[1] ?? "", rawHeaders: [] })).toEqual({
      projectId: 1,
      agentId: 999_999_999_999_999,
      token: undefined,
    });
  });

  it.each([
    ["HEAD", []],
    ["POST", []],
    ["GET", ["Content-Length", "0"]],
    ["GET", ["transfer-encoding", "chunked"]],
    ["GET", ["PRIVATE-TOKEN", "a", "private-token", "b"]],
    ["GET", ["Authorization", "Bearer a", "authorization", "Bearer b"]],
  ])("leaves %s with %o to Fastify", (method, rawHeaders) => {
    expect(hotAgentReadIds({ method, url: URLS[0] ?? "", rawHeaders })).toBeNull();
  });

  it.each([
    [["Host", "x", "PRIVATE-TOKEN", " glpat-a "], "glpat-a"],
    [["Authorization", "Bearer glpat-b"], "glpat-b"],
    [["Private-Token", "glpat-a", "Authorization", "Bearer glpat-b"], "glpat-a"],
    [["private-token", "  ", "authorization", "bearer glpat-b"], "glpat-b"],
    [["Authorization", "Basic abc"], undefined],
    [["JOB-TOKEN", "job"], undefined],
  ])("finds the token of %o as credentialFromHeaders does: %s", (rawHeaders, token) => {
    expect(hotAgentReadIds({ method: "GET", url: URLS[0] ?? "", rawHeaders })?.token).toBe(token);
  });
});
