import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GitLabSimulator, startGitLabSimulator } from "./index.ts";

const REPORTER = 20;
const DEVELOPER = 30;
const MAINTAINER = 40;

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/** A stand-in for Kasmap's hook route: records what GitLab POSTs. */
async function startReceiver(): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      received.push({
        path: request.url ?? "",
        headers: request.headers,
        body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>,
      });
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let gitlab: GitLabSimulator;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
const ids = { top: 0, sub: 0, other: 0, app: 0, deep: 0, secret: 0 };
const tokens = { admin: "", dev: "", subReporter: "", outsider: "" };

/** The six `x-*` headers of GitLab's offset pagination. */
const OFFSET_HEADERS = ["x-page", "x-per-page", "x-next-page", "x-prev-page", "x-total", "x-total-pages"];

/** What GitLab POSTed to the receiver's `path`, once every hook POST started so far has been answered. */
async function deliveredTo(path: string): Promise<Received[]> {
  await gitlab.flushHooks();
  return receiver.received.filter((entry) => entry.path === path);
}

async function api(path: string, token?: string, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  if (token !== undefined) headers.set("private-token", token);
  const response = await fetch(`${gitlab.apiUrl}${path}`, { ...init, headers });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: (text === "" ? null : JSON.parse(text)) as unknown,
  };
}

beforeAll(async () => {
  gitlab = await startGitLabSimulator();
  receiver = await startReceiver();
  const admin = gitlab.addUser({ username: "root", is_admin: true });
  const dev = gitlab.addUser({ username: "dev" });
  const subReporter = gitlab.addUser({ username: "subreporter" });
  const outsider = gitlab.addUser({ username: "outsider" });
  tokens.admin = gitlab.addToken(admin.id);
  tokens.dev = gitlab.addToken(dev.id);
  tokens.subReporter = gitlab.addToken(subReporter.id);
  tokens.outsider = gitlab.addToken(outsider.id);
  ids.top = gitlab.addGroup({ path: "acme", name: "Acme" }).id;
  ids.sub = gitlab.addGroup({ path: "infra", name: "Infra", parent_id: ids.top }).id;
  ids.other = gitlab.addGroup({ path: "other" }).id;
  ids.app = gitlab.addProject({ path: "app", namespace_id: ids.top }).id;
  ids.deep = gitlab.addProject({ path: "deploy", namespace_id: ids.sub }).id;
  ids.secret = gitlab.addProject({ path: "secret", namespace_id: ids.other }).id;
  gitlab.addMember({ group_id: ids.top }, dev.id, DEVELOPER);
  gitlab.addMember({ project_id: ids.deep }, dev.id, MAINTAINER);
  gitlab.addMember({ group_id: ids.sub }, subReporter.id, REPORTER);
});

afterAll(async () => {
  await gitlab.close();
  await receiver.close();
});

describe("GitLab simulator: authentication", () => {
  it("answers 401 with GitLab's body for an unknown, expired or revoked token", async () => {
    const user = gitlab.addUser({ username: "expiring" });
    const expired = gitlab.addToken(user.id, { expired: true });
    const revoked = gitlab.addToken(user.id);
    gitlab.revokeToken(revoked);
    for (const token of ["glpat-unknown", expired, revoked]) {
      const answer = await api("/user", token);
      expect(answer.status).toBe(401);
      expect(answer.body).toEqual({ message: "401 Unauthorized" });
    }
  });

  it("accepts OAuth tokens as Bearer and job tokens only on the job routes", async () => {
    const dev = gitlab.state.users.get(gitlab.state.usersByUsername.get("dev") ?? 0);
    if (dev === undefined) throw new Error("fixture missing");
    const oauth = gitlab.addToken(dev.id, { kind: "oauth" });
    const me = await api("/user", undefined, { headers: { authorization: `Bearer ${oauth}` } });
    expect(me.body).toMatchObject({ username: "dev" });
    const job = gitlab.addJob({ project_id: ids.app, user_id: dev.id });
    const jobAnswer = await api("/job", undefined, { headers: { "job-token": job.token } });
    expect(jobAnswer.body).toMatchObject({
      id: job.id,
      status: "running",
      pipeline: { project_id: ids.app },
      user: { username: "dev" },
    });
    expect((await api("/user", undefined, { headers: { "job-token": job.token } })).status).toBe(401);
  });
});

describe("GitLab simulator: visibility and permissions", () => {
  it("answers 404 for a project or group the token may not see; admins see all", async () => {
    expect((await api(`/projects/${ids.secret}`, tokens.dev)).status).toBe(404);
    expect((await api(`/groups/${ids.other}`, tokens.dev)).body).toEqual({ message: "404 Group Not Found" });
    expect((await api(`/projects/${ids.secret}`, tokens.admin)).status).toBe(200);
    expect((await api(`/projects/${ids.app}`)).status).toBe(404);
  });

  it("computes project_access and group_access from direct and inherited membership", async () => {
    const app = await api(`/projects/${ids.app}`, tokens.dev);
    expect(app.body).toMatchObject({
      path_with_namespace: "acme/app",
      permissions: { project_access: null, group_access: { access_level: DEVELOPER } },
    });
    const deep = await api(`/projects/${encodeURIComponent("acme/infra/deploy")}`, tokens.dev);
    expect(deep.body).toMatchObject({
      id: ids.deep,
      namespace: { id: ids.sub, kind: "group", full_path: "acme/infra", parent_id: ids.top },
      permissions: {
        project_access: { access_level: MAINTAINER },
        group_access: { access_level: DEVELOPER },
      },
    });
  });

  it("lets a subgroup member see the parent group but not its other projects", async () => {
    expect((await api(`/groups/${ids.top}`, tokens.subReporter)).status).toBe(200);
    expect((await api(`/projects/${ids.app}`, tokens.subReporter)).status).toBe(404);
    expect((await api(`/projects/${ids.deep}`, tokens.subReporter)).status).toBe(200);
  });

  it("filters /projects by min_access_level", async () => {
    const developerOrMore = await api(`/projects?min_access_level=${DEVELOPER}`, tokens.dev);
    expect((developerOrMore.body as Array<{ id: number }>).map((project) => project.id)).toEqual([
      ids.app,
      ids.deep,
    ]);
    const maintainerOrMore = await api(`/projects?min_access_level=${MAINTAINER}`, tokens.dev);
    expect((maintainerOrMore.body as Array<{ id: number }>).map((project) => project.id)).toEqual([ids.deep]);
    const outsider = await api("/projects", tokens.outsider);
    expect(outsider.body).toEqual([]);
  });

  it("shows cluster agents to developers only and reads raw files for reporters", async () => {
    gitlab.addAgent(ids.deep, "prod");
    gitlab.setFile(ids.deep, ".gitlab/agents/prod/config.yaml", "ci_access:\n  groups:\n    - id: acme\n");
    const agents = await api(`/projects/${ids.deep}/cluster_agents`, tokens.dev);
    expect(agents.body).toMatchObject([
      { name: "prod", config_project: { id: ids.deep, path_with_namespace: "acme/infra/deploy" } },
    ]);
    expect((await api(`/projects/${ids.deep}/cluster_agents`, tokens.subReporter)).status).toBe(403);
    const file = await fetch(
      `${gitlab.apiUrl}/projects/${ids.deep}/repository/files/${encodeURIComponent(".gitlab/agents/prod/config.yaml")}/raw?ref=main`,
      { headers: { "private-token": tokens.subReporter } },
    );
    expect(await file.text()).toContain("ci_access");
  });

  it("lists the agents a job may use, from ci_access", async () => {
    const dev = gitlab.state.usersByUsername.get("dev") ?? 0;
    const job = gitlab.addJob({ project_id: ids.app, user_id: dev });
    const answer = await api("/job/allowed_agents", undefined, { headers: { "job-token": job.token } });
    expect(answer.body).toMatchObject({
      allowed_agents: [{ name: "prod", config_project: { id: ids.deep }, configuration: {} }],
      job: { id: job.id },
      project: { id: ids.app, groups: [{ id: ids.top }] },
    });
  });
});

describe("GitLab simulator: moves", () => {
  it("transfers a group with its subtree: full paths and inherited access follow", async () => {
    const team = gitlab.addGroup({ path: "team" });
    const tool = gitlab.addProject({ path: "tool", namespace_id: team.id });
    expect((await api(`/projects/${tool.id}`, tokens.dev)).status).toBe(404);
    gitlab.transferGroup(team.id, ids.top);
    expect((await api(`/groups/${team.id}`, tokens.dev)).body).toMatchObject({
      full_path: "acme/team",
      parent_id: ids.top,
    });
    expect((await api(`/projects/${encodeURIComponent("acme/team/tool")}`, tokens.dev)).body).toMatchObject({
      id: tool.id,
      permissions: { group_access: { access_level: DEVELOPER } },
    });
    expect(() => gitlab.transferGroup(ids.top, team.id)).toThrow(/own subtree/);
  });
});

describe("GitLab simulator: pagination", () => {
  it("sends GitLab's headers and clamps per_page to 100", async () => {
    const group = gitlab.addGroup({ path: "many" });
    for (let index = 0; index < 5; index += 1)
      gitlab.addProject({ path: `p${index}`, namespace_id: group.id });
    const second = await api(`/groups/${group.id}/projects?per_page=2&page=2`, tokens.admin);
    // Page 2 of 5 rows at 2 a page: next 3, previous 1, 3 pages in all.
    expect(OFFSET_HEADERS.map((name) => second.headers.get(name))).toEqual(["2", "2", "3", "1", "5", "3"]);
    const link = second.headers.get("link") ?? "";
    for (const rel of ["next", "prev", "first", "last"]) expect(link).toContain(`rel="${rel}"`);
    const last = await api(`/groups/${group.id}/projects?per_page=2&page=3`, tokens.admin);
    expect(last.headers.get("x-next-page")).toBe("");
    expect((await api("/projects?per_page=500", tokens.admin)).headers.get("x-per-page")).toBe("100");
  });

  it("omits the totals above 10,000 rows, as GitLab does", async () => {
    const big = await startGitLabSimulator();
    try {
      big.loadBulk({ groups: 101, projectsPerGroup: 100, agents: 10 });
      const admin = big.addUser({ username: "root", is_admin: true });
      const token = big.addToken(admin.id);
      const response = await fetch(`${big.apiUrl}/projects?per_page=100&page=50`, {
        headers: { "private-token": token },
      });
      expect(response.headers.get("x-total")).toBeNull();
      expect(response.headers.get("x-total-pages")).toBeNull();
      expect(response.headers.get("x-next-page")).toBe("51");
      expect((await response.json()) as unknown[]).toHaveLength(100);
    } finally {
      await big.close();
    }
  });
});

describe("GitLab simulator: hooks", () => {
  it("fires system hooks with the secret, and none when fireHooks is false", async () => {
    gitlab.addSystemHook(`${receiver.url}/hooks`, "hook-secret");
    const project = gitlab.addProject({ path: "hooked", namespace_id: ids.top });
    gitlab.renameProject(project.id, { path: "hooked-2" });
    gitlab.addProject({ path: "silent", namespace_id: ids.top }, { fireHooks: false });
    gitlab.setFile(project.id, ".gitlab/agents/ci/config.yaml", "ci_access: {}\n");
    gitlab.deleteProject(project.id);
    const events = await deliveredTo("/hooks");
    expect(events.map((entry) => entry.body.event_name)).toEqual([
      "project_create",
      "project_rename",
      "push",
      "project_destroy",
    ]);
    for (const entry of events) {
      expect(entry.headers["x-gitlab-token"]).toBe("hook-secret");
      expect(entry.headers["x-gitlab-event"]).toBe("System Hook");
    }
    expect(events[1]?.body).toMatchObject({
      project_id: project.id,
      old_path_with_namespace: "acme/hooked",
      path_with_namespace: "acme/hooked-2",
    });
    expect(events[2]?.body).toMatchObject({
      project_id: project.id,
      ref: "refs/heads/main",
      commits: [{ added: [".gitlab/agents/ci/config.yaml"] }],
    });
  });

  it("streams agent audit events with the verification token and records them for the API", async () => {
    gitlab.addAuditStreamingDestination(`${receiver.url}/audit`, "stream-token");
    const agent = gitlab.addAgent(ids.app, "staging");
    gitlab.removeAgent(agent.id);
    const events = await deliveredTo("/audit");
    expect(events.map((entry) => entry.body.event_type)).toEqual([
      "cluster_agent_created",
      "cluster_agent_deleted",
    ]);
    expect(events[0]?.headers["x-gitlab-event-streaming-token"]).toBe("stream-token");
    expect(events[0]?.body).toMatchObject({
      entity_type: "Project",
      entity_id: ids.app,
      target_id: agent.id,
    });
    const listed = await api(`/projects/${ids.app}/audit_events`, tokens.admin);
    expect((listed.body as Array<{ event_name: string }>).map((event) => event.event_name)).toEqual([
      "cluster_agent_deleted",
      "cluster_agent_created",
    ]);
  });

  it("creates a project through POST /projects and fires project_create", async () => {
    const before = receiver.received.length;
    const created = await api("/projects", tokens.admin, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "Made Via API", path: "made-via-api", namespace_id: ids.top }),
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ path_with_namespace: "acme/made-via-api" });
    const denied = await api("/projects", tokens.subReporter, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ path: "nope", namespace_id: ids.sub }),
    });
    expect(denied.status).toBe(403);
    await gitlab.flushHooks();
    expect(receiver.received.slice(before).map((entry) => entry.body.event_name)).toEqual(["project_create"]);
  });

  it("logs requests with the credential kind, never the token", () => {
    expect(gitlab.requestLog.some((entry) => entry.credential === "private_token")).toBe(true);
    expect(JSON.stringify(gitlab.requestLog)).not.toContain(tokens.admin);
  });
});
