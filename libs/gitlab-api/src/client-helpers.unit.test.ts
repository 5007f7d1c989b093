import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  createGitLabClient,
  credentialHeaders,
  linkRelation,
  nextPageUrl,
  retryAfterSeconds,
} from "./client.ts";
import { GitLabApiError } from "./errors.ts";
import { agentNameOfConfigPath, encodePathSegment, gitlabPath } from "./paths.ts";
import { GitLabClusterAgentSchema, GitLabJobSchema, GitLabProjectSchema } from "./schemas.ts";

describe("paths", () => {
  it("encodes full paths and file paths as one segment", () => {
    expect(encodePathSegment("group/sub/project")).toBe("group%2Fsub%2Fproject");
    expect(gitlabPath`/projects/${"a/b"}/repository/files/${".gitlab/agents/x/config.yaml"}/raw`).toBe(
      "/projects/a%2Fb/repository/files/.gitlab%2Fagents%2Fx%2Fconfig.yaml/raw",
    );
    expect(gitlabPath`/projects/${42}`).toBe("/projects/42");
  });

  it("recognises agent config files", () => {
    expect(agentNameOfConfigPath(".gitlab/agents/prod/config.yaml")).toBe("prod");
    expect(agentNameOfConfigPath(".gitlab/agents/prod/other.yaml")).toBeNull();
  });
});

describe("credential headers", () => {
  it("puts each credential kind in GitLab's header", () => {
    expect(credentialHeaders({ kind: "private_token", token: "t" })).toEqual({ "private-token": "t" });
    expect(credentialHeaders({ kind: "oauth", token: "t" })).toEqual({ authorization: "Bearer t" });
    expect(credentialHeaders({ kind: "job_token", token: "t" })).toEqual({ "job-token": "t" });
    expect(credentialHeaders(undefined)).toEqual({});
  });
});

describe("pagination and rate-limit headers", () => {
  const link =
    '<https://gitlab.example.com/api/v4/projects?page=1&per_page=3>; rel="prev", <https://gitlab.example.com/api/v4/projects?page=3&per_page=3>; rel="next", <https://gitlab.example.com/api/v4/projects?page=1&per_page=3>; rel="first"';

  it("reads a Link relation", () => {
    expect(linkRelation(link, "next")).toBe("https://gitlab.example.com/api/v4/projects?page=3&per_page=3");
    expect(linkRelation(link, "last")).toBeNull();
    expect(linkRelation(null, "next")).toBeNull();
  });

  it("prefers x-next-page, falls back to Link, stops when neither", () => {
    const current = new URL("https://gitlab.example.com/api/v4/projects?per_page=3&page=2");
    const origin = "https://gitlab.example.com";
    expect(nextPageUrl(current, new Headers({ "x-next-page": "3" }), origin)?.searchParams.get("page")).toBe(
      "3",
    );
    expect(nextPageUrl(current, new Headers({ "x-next-page": "", link }), origin)?.toString()).toBe(
      "https://gitlab.example.com/api/v4/projects?page=3&per_page=3",
    );
    expect(nextPageUrl(current, new Headers({ "x-next-page": "" }), origin)).toBeNull();
  });

  it("never follows a Link to another origin (the token would go with it)", () => {
    const current = new URL("https://gitlab.example.com/api/v4/projects");
    const foreign = '<https://evil.example/api/v4/projects?page=2>; rel="next"';
    expect(() => nextPageUrl(current, new Headers({ link: foreign }), "https://gitlab.example.com")).toThrow(
      GitLabApiError,
    );
  });

  it("reads Retry-After as seconds or a date", () => {
    expect(retryAfterSeconds("7")).toBe(7);
    expect(retryAfterSeconds(null)).toBe(1);
    expect(retryAfterSeconds(new Date(10_000).toUTCString(), 0)).toBe(10);
  });
});

describe("schemas", () => {
  it("parses GitLab's project answer and ignores unknown fields", () => {
    const project = GitLabProjectSchema.parse({
      id: 3,
      description: null,
      name: "Diaspora Project Site",
      path: "diaspora-project-site",
      path_with_namespace: "diaspora/diaspora-project-site",
      created_at: "2013-09-30T13:46:02Z",
      default_branch: "main",
      namespace: {
        id: 3,
        name: "Diaspora",
        path: "diaspora",
        kind: "group",
        full_path: "diaspora",
        parent_id: null,
      },
      permissions: { project_access: { access_level: 10, notification_level: 3 }, group_access: null },
      some_future_field: { x: 1 },
    });
    expect(project.permissions?.project_access?.access_level).toBe(10);
    expect(project.namespace.kind).toBe("group");
  });

  it("parses an agent and a job", () => {
    expect(
      GitLabClusterAgentSchema.parse({
        id: 1,
        name: "agent-1",
        config_project: {
          id: 20,
          name: "test",
          path: "test",
          path_with_namespace: "root/test",
          created_at: "2022-03-20T20:42:40.221Z",
        },
        created_at: "2022-04-20T20:42:40.221Z",
        created_by_user_id: 42,
      }).config_project.id,
    ).toBe(20);
    const job = GitLabJobSchema.parse({
      id: 8,
      status: "running",
      ref: "main",
      user: { id: 1, name: "Administrator", username: "root", state: "active" },
      pipeline: { id: 6, project_id: 1, ref: "main", sha: "0ff3ae19", status: "running" },
    });
    expect(job.pipeline.project_id).toBe(1);
  });
});

describe("getAtRoot", () => {
  it("asks GitLab's root URL outside /api/v4, keeping a relative URL root", async () => {
    const asked: string[] = [];
    const client = createGitLabClient({
      baseUrl: "https://gitlab.example.com/gitlab/",
      timeoutMs: 1_000,
      fetch: async (url) => {
        asked.push(String(url));
        return new Response(JSON.stringify({ scope: ["api"] }), { status: 200 });
      },
    });
    const info = await client.getAtRoot("/oauth/token/info", z.looseObject({ scope: z.array(z.string()) }));
    expect(info.scope).toEqual(["api"]);
    expect(asked).toEqual(["https://gitlab.example.com/gitlab/oauth/token/info"]);
  });
});
