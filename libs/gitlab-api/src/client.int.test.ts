import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { type GitLabSimulator, startGitLabSimulator } from "@kasmap/testing/gitlab-simulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGitLabClient, type GitLabClient, type GitLabClientOptions } from "./client.ts";
import { gitlabPath } from "./paths.ts";
import { GitLabGroupSchema, GitLabProjectSchema, GitLabUserSchema } from "./schemas.ts";
import { apiFailure } from "./testing/api-failure.ts";

let gitlab: GitLabSimulator;
let adminToken: string;
let groupId: number;
let client: GitLabClient;

/** The simulator with GitLab's administrator `root` and the group `platform` of seven projects. */
async function startPlatformGitLab() {
  const simulator = await startGitLabSimulator();
  const admin = simulator.addUser({ username: "root", is_admin: true });
  const group = simulator.addGroup({ path: "platform" });
  for (let index = 0; index < 7; index += 1)
    simulator.addProject({ path: `service-${index}`, namespace_id: group.id });
  return { simulator, adminToken: simulator.addToken(admin.id), groupId: group.id };
}

/** A client of `root` against the simulator, with a 2 s timeout unless `overrides` say otherwise. */
function clientOfRoot(overrides: Partial<GitLabClientOptions> = {}): GitLabClient {
  return createGitLabClient({ baseUrl: gitlab.url, token: adminToken, timeoutMs: 2_000, ...overrides });
}

beforeAll(async () => {
  const platform = await startPlatformGitLab();
  gitlab = platform.simulator;
  adminToken = platform.adminToken;
  groupId = platform.groupId;
  client = clientOfRoot({ retryBaseDelayMs: 10 });
});

afterAll(async () => {
  await gitlab.close();
});

async function collect<T>(pages: AsyncIterable<T[]>): Promise<{ pages: number; items: T[] }> {
  const items: T[] = [];
  let count = 0;
  for await (const page of pages) {
    count += 1;
    items.push(...page);
  }
  return { pages: count, items };
}

describe("GitLab client against the simulator", () => {
  it("reads the token's user and a project by full path", async () => {
    const user = await client.get("/user", GitLabUserSchema);
    expect(user).toMatchObject({ username: "root", is_admin: true });
    const project = await client.get(gitlabPath`/projects/${"platform/service-3"}`, GitLabProjectSchema);
    expect(project.path_with_namespace).toBe("platform/service-3");
    expect(project.namespace).toMatchObject({ id: groupId, kind: "group" });
  });

  it("walks every page by x-next-page", async () => {
    const listing = await collect(
      client.pages(gitlabPath`/groups/${groupId}/projects`, GitLabProjectSchema, { perPage: 3 }),
    );
    expect(listing.pages).toBe(3);
    expect(listing.items.map((project) => project.path)).toEqual(
      [0, 1, 2, 3, 4, 5, 6].map((n) => `service-${n}`),
    );
  });

  it("walks every page by Link rel=next when GitLab sends no x-next-page", async () => {
    gitlab.setPaginationStyle("link_only");
    try {
      const listing = await collect(client.pages("/projects", GitLabProjectSchema, { perPage: 2 }));
      expect(listing.pages).toBe(4);
      expect(listing.items).toHaveLength(7);
    } finally {
      gitlab.setPaginationStyle("headers");
    }
  });

  it("waits out a 429 with Retry-After and then succeeds", async () => {
    gitlab.rateLimitNext(1, 1);
    const before = gitlab.requestLog.length;
    const group = await client.get(gitlabPath`/groups/${groupId}`, GitLabGroupSchema);
    expect(group.full_path).toBe("platform");
    expect(gitlab.requestLog.slice(before).map((entry) => entry.status)).toEqual([429, 200]);
  });

  it("fails as rate_limited when Retry-After exceeds the bound", async () => {
    const impatient = clientOfRoot({ maxRetryAfterSeconds: 5 });
    gitlab.rateLimitNext(1, 3600);
    const error = await apiFailure(impatient.get("/user", GitLabUserSchema));
    expect(error).toMatchObject({ kind: "rate_limited", status: 429 });
  });

  it("retries a 5xx and succeeds; fails as server after the bounded retries", async () => {
    gitlab.failNext(1, 502);
    await expect(client.get("/user", GitLabUserSchema)).resolves.toMatchObject({ username: "root" });
    gitlab.failNext(10, 500);
    const error = await apiFailure(client.get("/user", GitLabUserSchema));
    expect(error).toMatchObject({ kind: "server", status: 500 });
    gitlab.failNext(0);
  });

  it("reports 401 as unauthorized without the token in the message", async () => {
    const stranger = clientOfRoot({ token: "glpat-not-a-real-token" });
    const error = await apiFailure(stranger.get("/user", GitLabUserSchema));
    expect(error).toMatchObject({ kind: "unauthorized", status: 401 });
    expect(error.message).not.toContain("glpat-not-a-real-token");
  });

  it("reports 404 as not_found, and raw() answers null for a missing file", async () => {
    const error = await apiFailure(client.get("/projects/999999", GitLabProjectSchema));
    expect(error).toMatchObject({ kind: "not_found", status: 404 });
    const missing = await client.raw(
      gitlabPath`/projects/${"platform/service-0"}/repository/files/${".gitlab/agents/a/config.yaml"}/raw`,
      {
        query: { ref: "main" },
      },
    );
    expect(missing).toBeNull();
  });

  it("reads a raw agent config file", async () => {
    const project = gitlab.state.findProject("platform/service-1");
    if (project === undefined) throw new Error("fixture missing");
    gitlab.setFile(project.id, ".gitlab/agents/prod/config.yaml", "ci_access:\n  projects: []\n");
    const file = await client.raw(
      gitlabPath`/projects/${project.id}/repository/files/${".gitlab/agents/prod/config.yaml"}/raw`,
      { query: { ref: "main" } },
    );
    expect(file?.status).toBe(200);
    expect(file?.body).toBe("ci_access:\n  projects: []\n");
  });

  it("refuses a raw file over the call's maxBytes as too_large, naming the path, limit and size", async () => {
    const project = gitlab.state.findProject("platform/service-4");
    if (project === undefined) throw new Error("fixture missing");
    const content = `# ${"x".repeat(1_500_000)}\n`;
    gitlab.setFile(project.id, ".gitlab/agents/evil/config.yaml", content);
    const path = gitlabPath`/projects/${project.id}/repository/files/${".gitlab/agents/evil/config.yaml"}/raw`;
    const error = await apiFailure(client.raw(path, { query: { ref: "main" }, maxBytes: 270_336 }));
    expect(error).toMatchObject({ kind: "too_large", bodyBytes: Buffer.byteLength(content) });
    expect(error.message).toContain(`GET /api/v4${path}`);
    expect(error.message).toContain("over the limit of 270336 bytes");
    expect(error.message).not.toContain(adminToken);
    // Within the client's default limit the same file reads whole.
    expect((await client.raw(path, { query: { ref: "main" } }))?.body).toBe(content);
  });

  it("stops reading an endless body without Content-Length and drops the connection", async () => {
    let closed: () => void = () => {};
    const connectionClosed = new Promise<void>((resolve) => {
      closed = resolve;
    });
    let sent = 0;
    const server = createServer((_request, response) => {
      response.writeHead(200, { "content-type": "text/plain" });
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const write = () => {
        while (!response.destroyed && response.write(chunk)) sent += chunk.length;
      };
      response.on("drain", write);
      response.on("close", closed);
      write();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const endless = createGitLabClient({
        baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        timeoutMs: 5_000,
        maxBodyBytes: 1024 * 1024,
      });
      const error = await apiFailure(endless.get("/user", GitLabUserSchema));
      expect(error).toMatchObject({ kind: "too_large", bodyBytes: null });
      expect(error.message).toBe("GET /api/v4/user: GitLab's answer is over the limit of 1048576 bytes");
      await connectionClosed;
      // Far less than the 5 s timeout would have let through.
      expect(sent).toBeLessThan(16 * 1024 * 1024);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("sends a caller's credential in GitLab's header for its kind", async () => {
    const user = gitlab.addUser({ username: "alice" });
    const oauth = gitlab.addToken(user.id, { kind: "oauth" });
    const job = gitlab.addJob({
      project_id: gitlab.state.findProject("platform/service-2")?.id ?? 0,
      user_id: user.id,
    });
    const anonymous = createGitLabClient({ baseUrl: gitlab.url, timeoutMs: 2_000 });
    await expect(
      anonymous.get("/user", GitLabUserSchema, { credential: { kind: "oauth", token: oauth } }),
    ).resolves.toMatchObject({
      username: "alice",
    });
    const jobAnswer = await anonymous.raw("/job", { credential: { kind: "job_token", token: job.token } });
    expect(jobAnswer?.status).toBe(200);
    const kinds = gitlab.requestLog.slice(-2).map((entry) => entry.credential);
    expect(kinds).toEqual(["oauth", "job_token"]);
    expect(JSON.stringify(gitlab.requestLog)).not.toContain(oauth);
  });

  it("rejects an answer that does not match the schema as invalid_response", async () => {
    const error = await apiFailure(client.get("/version", GitLabProjectSchema));
    expect(error.kind).toBe("invalid_response");
  });

  it("times out a request GitLab never answers as unreachable", async () => {
    const quick = clientOfRoot({ timeoutMs: 200, maxRetries: 0 });
    gitlab.stallNext(1);
    const error = await apiFailure(quick.get("/user", GitLabUserSchema));
    expect(error.kind).toBe("unreachable");
    expect(error.message).toContain("timed out");
  });

  it("reports unreachable while GitLab is down, and recovers when it is back", async () => {
    await gitlab.setDown(true);
    try {
      const error = await apiFailure(client.get("/user", GitLabUserSchema));
      expect(error).toMatchObject({ kind: "unreachable", status: null });
    } finally {
      await gitlab.setDown(false);
    }
    await expect(client.get("/user", GitLabUserSchema)).resolves.toMatchObject({ username: "root" });
  });
});
