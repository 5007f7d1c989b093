import { publishEvent } from "@kasmap/bus";
import { type RunningGateway, startGateway } from "@kasmap/gateway-service";
import { createLogger } from "@kasmap/logging";
import type { ProjectionService } from "@kasmap/projection-service";
import { buildClusterFacts, testEvents } from "@kasmap/testing";
import {
  addAgentProjectHierarchy,
  type GitLabSimulator,
  startGitLabSimulator,
} from "@kasmap/testing/gitlab-simulator";
import { eventually } from "@kasmap/testing/harness";
import { createTestWorld, type TestWorld } from "@kasmap/testing/world";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMirroredProjection } from "./gitlab-mirror-seed.ts";

/**
 * Issue 9 items 3, 4 and 6: Kasmap beside GitLab (the simulator), GitLab deciding access. The
 * hierarchy of the original request: Root-Group/Operators/Agent-Project holds the agent,
 * Root-Group/Developers/Feature-Project is a sibling. The read model holds GitLab's groups,
 * projects and agent by GitLab id (the mirror's registry events, published here), and a snapshot
 * of the agent's cluster. Two gateways share it: one with a 1 s permission TTL (revocation), one
 * with 300 s (a warm cache through a GitLab outage).
 */

const DEVELOPER = 30;
const MAINTAINER = 40;
const NODE_IP = "10.20.0.7";

let world: TestWorld;
let sim: GitLabSimulator;
let projection: ProjectionService;
let shortTtl: RunningGateway;
let longTtl: RunningGateway;
const ids = { agentProject: 0, featureProject: 0, agent: 0, operators: 0 };
const tokens = {
  maintainer: "",
  developer: "",
  outsider: "",
  admin: "",
  maintainerReadApi: "",
  maintainerOAuthReadApi: "",
  maintainerOAuthApi: "",
};

beforeAll(async () => {
  world = await createTestWorld({ name: "gitlab-mode-access" });
  sim = await startGitLabSimulator();
  const hierarchy = addAgentProjectHierarchy(sim);
  const { operators, developers, agentProject, featureProject } = hierarchy;
  const agent = sim.addAgent(agentProject.id, "prod-agent");
  Object.assign(ids, {
    agentProject: agentProject.id,
    featureProject: featureProject.id,
    agent: agent.id,
    operators: operators.id,
  });
  const maintainer = sim.addUser({ username: "olivia-operator" });
  const developer = sim.addUser({ username: "dave-developer" });
  const outsider = sim.addUser({ username: "fiona-feature" });
  const admin = sim.addUser({ username: "root", is_admin: true });
  sim.addMember({ group_id: operators.id }, maintainer.id, MAINTAINER);
  sim.addMember({ project_id: agentProject.id }, developer.id, DEVELOPER);
  sim.addMember({ group_id: developers.id }, outsider.id, MAINTAINER);
  Object.assign(tokens, {
    maintainer: sim.addToken(maintainer.id),
    developer: sim.addToken(developer.id, { kind: "oauth" }),
    outsider: sim.addToken(outsider.id),
    admin: sim.addToken(admin.id),
    maintainerReadApi: sim.addToken(maintainer.id, { scopes: ["read_api"] }),
    maintainerOAuthReadApi: sim.addToken(maintainer.id, { kind: "oauth", scopes: ["read_api"] }),
    maintainerOAuthApi: sim.addToken(maintainer.id, { kind: "oauth", scopes: ["api"] }),
  });

  projection = await startMirroredProjection(world, sim, hierarchy, [agent]);
  const facts = buildClusterFacts({ cluster_name: "prod", node_ips: { internal: [NODE_IP], external: [] } });
  await publishEvent(world.bus, testEvents(world.topology).snapshot(agent.id, facts));

  const gateway = (permissionTtlSeconds: number) =>
    startGateway({
      bus: world.bus,
      databaseUrl: world.database.url,
      logger: createLogger("gateway", "silent"),
      gitlab: { url: sim.url, permissionTtlSeconds, timeoutMs: 2_000 },
    });
  shortTtl = await gateway(1);
  longTtl = await gateway(300);
  await eventually(async () => {
    const info = await call(
      shortTtl,
      `/projects/${ids.agentProject}/cluster_agents/${ids.agent}/cluster_info`,
      {
        "private-token": tokens.maintainer,
      },
    );
    return info.status === 200 && (await info.json()) !== null ? true : undefined;
  }, "the mirrored agent's cluster_info in the read model");
}, 60_000);

afterAll(async () => {
  await shortTtl?.stop();
  await longTtl?.stop();
  await projection?.stop();
  await sim?.close();
  await world?.teardown();
});

function call(
  gateway: RunningGateway,
  path: string,
  headers: Record<string, string>,
  init: RequestInit = {},
): Promise<Response> {
  return fetch(`${gateway.url}/api/v4${path}`, { ...init, headers: { ...headers, ...init.headers } });
}

function direct(path: string, headers: Record<string, string>, init: RequestInit = {}): Promise<Response> {
  return fetch(`${sim.apiUrl}${path}`, { ...init, headers: { ...headers, ...init.headers } });
}

describe("GitLab's agent routes through Kasmap", () => {
  it("answers GitLab's agent body plus cluster_info, for the GitLab agent id", async () => {
    const path = `/projects/${ids.agentProject}/cluster_agents/${ids.agent}`;
    const gitlab = await (await direct(path, { authorization: `Bearer ${tokens.developer}` })).json();
    const response = await call(shortTtl, `${path}?with_cluster_info=true`, {
      authorization: `Bearer ${tokens.developer}`,
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    const { cluster_info: clusterInfo, ...rest } = body;
    expect(rest).toEqual(gitlab);
    expect(clusterInfo).toMatchObject({
      cluster_name: "prod",
      node_ips: { internal: [NODE_IP], external: [] },
    });
  });

  it("adds cluster_info to each agent of GitLab's list, and returns GitLab's answer untouched without the flag", async () => {
    const path = `/projects/${ids.agentProject}/cluster_agents`;
    const headers = { "private-token": tokens.maintainer };
    const gitlabText = await (await direct(path, headers)).text();
    const plain = await call(shortTtl, path, headers);
    expect(await plain.text()).toBe(gitlabText);
    expect(plain.headers.get("x-total")).toBe("1");
    const enriched = (await (
      await call(shortTtl, `${path}?with_cluster_info=true`, headers)
    ).json()) as Array<Record<string, unknown>>;
    expect(
      enriched.map((agent) => [agent.id, (agent.cluster_info as { cluster_name: string }).cluster_name]),
    ).toEqual([[ids.agent, "prod"]]);
  });

  it("adds cluster_info to GitLab's /job/allowed_agents for a CI job token, and refuses that token on Kasmap's routes", async () => {
    sim.setFile(
      ids.agentProject,
      ".gitlab/agents/prod-agent/config.yaml",
      "ci_access:\n  groups:\n    - id: root-group/developers\n",
    );
    const outsiderId = sim.state.usersByUsername.get("fiona-feature") as number;
    const job = sim.addJob({ project_id: ids.featureProject, user_id: outsiderId });
    const headers = { "job-token": job.token };
    const gitlab = (await (await direct("/job/allowed_agents", headers)).json()) as {
      allowed_agents: Array<Record<string, unknown>>;
    };
    expect(gitlab.allowed_agents.map((agent) => agent.id)).toEqual([ids.agent]);
    const response = await call(shortTtl, "/job/allowed_agents?with_cluster_info=true", headers);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { allowed_agents: Array<Record<string, unknown>> };
    expect(body.allowed_agents.map(({ cluster_info: _info, ...agent }) => agent)).toEqual(
      gitlab.allowed_agents,
    );
    expect(body.allowed_agents[0]?.cluster_info).toMatchObject({ cluster_name: "prod" });
    expect({ ...body, allowed_agents: [] }).toEqual({ ...gitlab, allowed_agents: [] });
    const extension = `/projects/${ids.featureProject}/allowed_agents`;
    expect((await call(shortTtl, extension, headers)).status).toBe(401);
  });

  it("passes GitLab's refusals through: a user GitLab denies gets GitLab's 404, a bad token its 401", async () => {
    const path = `/projects/${ids.agentProject}/cluster_agents/${ids.agent}?with_cluster_info=true`;
    const denied = await call(shortTtl, path, { "private-token": tokens.outsider });
    expect(denied.status).toBe(404);
    expect(await denied.json()).toEqual(
      await (await direct(path, { "private-token": tokens.outsider })).json(),
    );
    expect((await call(shortTtl, path, { "private-token": "glpat-nobody" })).status).toBe(401);
  });

  it("forwards a write to GitLab unchanged and returns GitLab's answer", async () => {
    const response = await call(
      shortTtl,
      "/projects",
      { "private-token": tokens.maintainer, "content-type": "application/json" },
      { method: "POST", body: JSON.stringify({ name: "new-service", namespace_id: ids.operators }) },
    );
    expect(response.status).toBe(201);
    const created = (await response.json()) as { id: number; path_with_namespace: string };
    expect(created.path_with_namespace).toBe("root-group/operators/new-service");
    expect(sim.state.projects.get(created.id)?.path).toBe("new-service");
    expect(sim.requestLog).toContainEqual(
      expect.objectContaining({
        method: "POST",
        path: "/api/v4/projects",
        credential: "private_token",
        status: 201,
      }),
    );
  });

  it("streams a body past Kasmap's own 1 MiB limit to GitLab untouched (GitLab's limits apply, not Kasmap's)", async () => {
    const description = "x".repeat(3 * 1024 * 1024);
    const response = await call(
      shortTtl,
      "/projects",
      { "private-token": tokens.maintainer, "content-type": "application/json" },
      {
        method: "POST",
        body: JSON.stringify({ name: "big-description", namespace_id: ids.operators, description }),
      },
    );
    expect(response.status).toBe(201);
    const created = (await response.json()) as { id: number };
    expect(sim.state.projects.get(created.id)?.description?.length).toBe(description.length);
  });

  it("rewrites GitLab's pagination links to Kasmap, so following them stays on Kasmap", async () => {
    const headers = { "private-token": tokens.admin };
    const first = await call(shortTtl, "/projects?per_page=1", headers);
    expect(first.status).toBe(200);
    expect(first.headers.get("x-next-page")).toBe("2");
    const link = first.headers.get("link") ?? "";
    expect(link).toContain(`<${shortTtl.url}/api/v4/projects?`);
    expect(link).not.toContain(sim.url);
    const next = /<([^>]+)>; rel="next"/.exec(link)?.[1];
    expect(next).toBeDefined();
    const second = await fetch(String(next), { headers });
    expect(second.status).toBe(200);
    expect(second.headers.get("x-page")).toBe("2");
  });

  it("answers GitLab's own paths as GitLab does (/user, /projects/:id/audit_events) and does not proxy GraphQL or OAuth", async () => {
    const user = await call(shortTtl, "/user", {
      "private-token": tokens.developer.length ? tokens.maintainer : "",
    });
    expect(await user.json()).toMatchObject({ username: "olivia-operator" });
    const audit = await call(shortTtl, `/projects/${ids.agentProject}/audit_events`, {
      "private-token": tokens.maintainer,
    });
    expect(audit.status).toBe(200);
    expect(
      sim.requestLog.some((entry) =>
        entry.path.startsWith(`/api/v4/projects/${ids.agentProject}/audit_events`),
      ),
    ).toBe(true);
    const graphql = await fetch(`${shortTtl.url}/api/graphql`, { method: "POST", body: "{}" });
    expect(graphql.status).toBe(404);
    expect(await graphql.json()).toEqual({
      message: expect.stringContaining("does not proxy GitLab's GraphQL API"),
    });
    expect((await fetch(`${shortTtl.url}/oauth/token`, { method: "POST" })).status).toBe(404);
  });
});

describe("Kasmap's extensions with GitLab deciding access", () => {
  it("serves history and lookup of the mirrored agent to those GitLab lets read it, and nothing to others", async () => {
    const history = `/projects/${ids.agentProject}/cluster_agents/${ids.agent}/cluster_info/history`;
    const developerHistory = await call(shortTtl, history, { authorization: `Bearer ${tokens.developer}` });
    expect(developerHistory.status).toBe(200);
    expect(((await developerHistory.json()) as unknown[]).length).toBe(1);
    expect((await call(shortTtl, history, { "private-token": tokens.outsider })).status).toBe(404);

    const lookup = `/clusters/lookup?ip=${NODE_IP}`;
    const found = (await (
      await call(shortTtl, lookup, { "private-token": tokens.maintainer })
    ).json()) as Array<{
      agent: { id: number };
    }>;
    expect(found.map((entry) => entry.agent.id)).toEqual([ids.agent]);
    const hidden = await call(shortTtl, lookup, { "private-token": tokens.outsider });
    expect(hidden.status).toBe(200);
    expect(await hidden.json()).toEqual([]);
  });

  it("keeps Kasmap's own audit events on the Kasmap-only path (roles as GitLab decides them)", async () => {
    const path = `/-/kasmap/projects/${ids.agentProject}/audit_events`;
    const events = await call(shortTtl, path, { "private-token": tokens.maintainer });
    expect(events.status).toBe(200);
    expect(
      ((await events.json()) as Array<{ event_name: string }>).map((event) => event.event_name),
    ).toContain("cluster_agent_cluster_info_changed");
    // A Developer (per GitLab) sees only the events they authored: none here.
    const own = await call(shortTtl, path, { authorization: `Bearer ${tokens.developer}` });
    expect([own.status, await own.json()]).toEqual([200, []]);
  });

  it("stops accepting a token GitLab revoked within the permission TTL", async () => {
    const token = sim.addToken(sim.state.usersByUsername.get("dave-developer") as number);
    const path = `/projects/${ids.agentProject}/cluster_agents/${ids.agent}/cluster_info`;
    expect((await call(shortTtl, path, { "private-token": token })).status).toBe(200);
    sim.revokeToken(token);
    const status = await eventually(async () => {
      const response = await call(shortTtl, path, { "private-token": token });
      return response.status === 200 ? undefined : response.status;
    }, "the revoked token refused");
    expect(status).toBe(401);
  });
});

describe("token scopes on Kasmap's own routes", () => {
  // Kasmap's writes ask GitLab only reads (`GET /user`, `GET /projects/:id`) that a `read_api`
  // token passes, so Kasmap asks GitLab for the token's scopes itself, as GitLab would check them.
  const body = { cluster_name: "prod" };
  const post = (path: string, headers: Record<string, string>, json: unknown = body) =>
    call(shortTtl, path, headers, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(json),
    });

  it("refuses a write with a read_api token (personal access or OAuth) as GitLab does, and takes it with api", async () => {
    const verifyPath = `/projects/${ids.agentProject}/cluster_agents/${ids.agent}/cluster_info/verify`;
    const readApi: Record<string, string>[] = [
      { "private-token": tokens.maintainerReadApi },
      { authorization: `Bearer ${tokens.maintainerOAuthReadApi}` },
    ];
    for (const headers of readApi) {
      const refused = await post(verifyPath, headers);
      expect(refused.status).toBe(403);
      expect(await refused.json()).toMatchObject({ error: "insufficient_scope", scope: "api read_api" });
    }
    const api: Record<string, string>[] = [
      { "private-token": tokens.maintainer },
      { authorization: `Bearer ${tokens.maintainerOAuthApi}` },
      { authorization: `Bearer ${tokens.maintainer}` },
    ];
    for (const headers of api) {
      const accepted = await post(verifyPath, headers);
      expect(accepted.status).toBe(200);
      expect(await accepted.json()).toMatchObject({ ok: true });
    }
  });

  it("lets read_api tokens read, and take a live-events ticket (a read)", async () => {
    const headers = { "private-token": tokens.maintainerReadApi };
    const info = await call(
      shortTtl,
      `/projects/${ids.agentProject}/cluster_agents/${ids.agent}/cluster_info`,
      headers,
    );
    expect(info.status).toBe(200);
    const ticket = await post("/-/kasmap/live/tickets", headers, {});
    expect(ticket.status).toBe(201);
  });
});

describe("GitLab unreachable", () => {
  it("fails closed for a token it never checked, keeps a warm one for its TTL, and says GitLab is down on forwarded paths", async () => {
    const path = `/projects/${ids.agentProject}/cluster_agents/${ids.agent}/cluster_info`;
    const warm = { "private-token": tokens.maintainer };
    expect((await call(longTtl, path, warm)).status).toBe(200);
    const cold = sim.addToken(sim.state.usersByUsername.get("olivia-operator") as number);
    await sim.setDown(true);
    try {
      const refused = await call(longTtl, path, { "private-token": cold });
      expect(refused.status).toBe(503);
      expect(refused.headers.get("retry-after")).not.toBeNull();
      expect(await refused.json()).toEqual({ message: expect.stringContaining("GitLab is unreachable") });

      expect((await call(longTtl, path, warm)).status).toBe(200);

      const forwarded = await call(longTtl, `/projects/${ids.agentProject}`, warm);
      expect(forwarded.status).toBe(503);
      expect(await forwarded.json()).toEqual({ message: expect.stringContaining("GitLab is unreachable") });
    } finally {
      await sim.setDown(false);
    }
    expect((await call(longTtl, path, { "private-token": cold })).status).toBe(200);
  });
});
