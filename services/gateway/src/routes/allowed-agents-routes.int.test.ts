import { JobAllowedAgentsResponseSchema } from "@kasmap/contracts";
import { createLogger } from "@kasmap/logging";
import { gatewayClient } from "@kasmap/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningGateway, startGateway } from "../index.ts";
import { AGENTS, insertAllowedAgentsRegistry, JOB_TOKENS } from "../testing/allowed-agents-registry.ts";
import {
  gatewayFixtureForFile,
  insertHeartbeat,
  insertSnapshot,
  PROJECT,
  TOKENS,
} from "../testing/gateway-fixture.ts";

const f = gatewayFixtureForFile();
let flagOff: RunningGateway;

beforeAll(async () => {
  await insertAllowedAgentsRegistry(f.db);
  await insertSnapshot(f.db, AGENTS.own, "own-cluster");
  await insertHeartbeat(f.db, AGENTS.own, new Date());
  // The flag is an option of the gateway: a second gateway on the same read model.
  flagOff = await startGateway({
    bus: f.bus,
    databaseUrl: f.database.url,
    includeDescendants: false,
    logger: createLogger("gateway-flag-off", "silent"),
  });
});

afterAll(async () => {
  await flagOff?.stop();
});

const jobCall = (token: string, query = "") =>
  f.call(`/api/v4/job/allowed_agents${query}`, { token, tokenHeader: "job-token" });

async function json<T>(response: Promise<Response>, status = 200): Promise<T> {
  const r = await response;
  const text = await r.text();
  expect(r.status, text).toBe(status);
  return JSON.parse(text) as T;
}

type JobAnswer = {
  allowed_agents: Array<{
    id: number;
    configuration: unknown;
    cluster_info?: { cluster_name: string } | null;
  }>;
  project: { id: number; groups: Array<{ id: number }> };
  user: { id: number; username: string; roles_in_project: string[] };
  environment?: unknown;
  job: { id: number };
  pipeline: { id: number };
};

/** The job's answer, and the ids of its allowed agents in the order GitLab lists them. */
async function jobAllowedAgents(token: string): Promise<{ body: JobAnswer; ids: number[] }> {
  const body = await json<JobAnswer>(jobCall(token));
  return { body, ids: body.allowed_agents.map((a) => a.id) };
}

describe("GET /api/v4/job/allowed_agents", () => {
  it.each([
    ["no token", {}],
    ["an unknown job token", { "job-token": "glcbt-nope" }],
    ["a finished job's token", { "job-token": JOB_TOKENS.finished }],
  ])("answers 401 for %s", async (_what, headers) => {
    const response = await f.call("/api/v4/job/allowed_agents", { headers });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ message: "401 Unauthorized" });
  });

  it("answers 404 Job Not Found to a personal access token, as GitLab", async () => {
    expect(await json(f.call("/api/v4/job/allowed_agents", { token: TOKENS.developer }), 404)).toEqual({
      message: "404 Job Not Found",
    });
  });

  it("answers GitLab's exact shape: groups innermost first, roles up to the user's level, no environment key without one", async () => {
    const { body, ids } = await jobAllowedAgents(TOKENS.job);
    expect(JobAllowedAgentsResponseSchema.parse(body)).toEqual(body);
    expect(body.job).toEqual({ id: 1 });
    expect(body.pipeline).toEqual({ id: 1 });
    expect(body.project).toEqual({ id: PROJECT, groups: [{ id: 11 }, { id: 10 }] });
    expect(body.user).toEqual({
      id: 2,
      username: "developer",
      roles_in_project: ["guest", "reporter", "developer"],
    });
    expect("environment" in body).toBe(false);
    // No environment: entries with an `environments` list (506, 507) drop out.
    expect(ids).toEqual([AGENTS.explicit, AGENTS.own, AGENTS.groups, AGENTS.cousin]);
    const configurations = Object.fromEntries(body.allowed_agents.map((a) => [a.id, a.configuration]));
    expect(configurations).toEqual({
      [AGENTS.explicit]: { default_namespace: "explicit" }, // explicit beats its group row
      [AGENTS.own]: {}, // implicit beats its group row
      [AGENTS.groups]: { default_namespace: "inner" }, // innermost group wins
      [AGENTS.cousin]: { default_namespace: "cousin" },
    });
  });

  it("keeps review/* for an unprotected review job and drops protected-only entries", async () => {
    const { body, ids } = await jobAllowedAgents(JOB_TOKENS.review);
    expect(ids).toEqual([AGENTS.explicit, AGENTS.review, AGENTS.own, AGENTS.groups, AGENTS.cousin]);
    expect(body.environment).toEqual({ tier: "development", slug: "review-feat-abc" });
  });

  it("keeps production-only entries for a protected production job", async () => {
    const { ids } = await jobAllowedAgents(JOB_TOKENS.production);
    expect(ids).toEqual([AGENTS.explicit, AGENTS.prodOnly, AGENTS.own, AGENTS.groups, AGENTS.cousin]);
  });

  it("denies every agent when the ref's protection is unknown", async () => {
    const body = await json<JobAnswer>(jobCall(JOB_TOKENS.unknownProtection));
    expect(body.allowed_agents).toEqual([]);
    expect(body.environment).toEqual({ tier: "production", slug: "production" });
  });

  it("refuses the token of a job whose user is no longer a Developer of the project", async () => {
    const response = await jobCall(JOB_TOKENS.reporter);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ message: "401 Unauthorized" });
  });

  it("adds cluster_info on request", async () => {
    const body = await json<JobAnswer>(jobCall(TOKENS.job, "?with_cluster_info=true"));
    const own = body.allowed_agents.find((a) => a.id === AGENTS.own);
    expect(own?.cluster_info?.cluster_name).toBe("own-cluster");
    expect(body.allowed_agents.find((a) => a.id === AGENTS.groups)?.cluster_info).toBeNull();
    expect(JobAllowedAgentsResponseSchema.safeParse(body).success).toBe(true);
  });
});

describe("GET /api/v4/projects/:id/allowed_agents", () => {
  const path = `/api/v4/projects/${PROJECT}/allowed_agents`;
  type Listed = { allowed_agents: Array<{ id: number; rule: string; via_group_id: number | null }> };

  it("names the rule and the granting group; a sibling group and a foreign root never grant", async () => {
    const body = await json<Listed>(f.call(path, { token: TOKENS.developer }));
    expect(body.allowed_agents.map(({ id, rule, via_group_id }) => ({ id, rule, via_group_id }))).toEqual([
      { id: AGENTS.explicit, rule: "explicit_project", via_group_id: null },
      { id: AGENTS.prodOnly, rule: "explicit_project", via_group_id: null },
      { id: AGENTS.review, rule: "explicit_project", via_group_id: null },
      { id: AGENTS.own, rule: "implicit_config_project", via_group_id: null },
      { id: AGENTS.groups, rule: "group", via_group_id: 11 },
      { id: AGENTS.cousin, rule: "group", via_group_id: 11 },
    ]);
  });

  it("with agent_authorization_include_descendants off, needs the configuration project in an ancestor", async () => {
    const body = await json<Listed>(gatewayClient(flagOff.url).fetch(path, { token: TOKENS.developer }));
    expect(body.allowed_agents.map((a) => a.id)).toEqual([
      AGENTS.explicit,
      AGENTS.prodOnly,
      AGENTS.review,
      AGENTS.own,
      AGENTS.groups,
    ]);
  });

  it.each([
    ["an outsider", TOKENS.outsider],
    ["a reporter", TOKENS.reporter],
  ])("answers 404 to %s", async (_who, token) => {
    expect(await json(f.call(path, { token }), 404)).toEqual({ message: "404 Project Not Found" });
  });
});

describe("GET …/cluster_agents/:agent_id/authorization/explain", () => {
  const explain = (agentId: number, query = "") =>
    `/api/v4/projects/${PROJECT}/cluster_agents/${agentId}/authorization/explain${query}`;

  it("explains a grant with its rule and group", async () => {
    expect(await json(f.call(explain(AGENTS.groups), { token: TOKENS.developer }))).toEqual({
      allowed: true,
      rule: "group",
      via_group_id: 11,
      config: { default_namespace: "inner" },
    });
  });

  it("explains why an agent from another root does not apply", async () => {
    const body = await json<{ allowed: boolean; reasons: string[] }>(
      f.call(explain(AGENTS.foreign), { token: TOKENS.developer }),
    );
    expect(body.allowed).toBe(false);
    expect(body.reasons[0]).toContain("root group other-root");
  });

  it("applies the job filter when given a job context", async () => {
    const denied = await json<{ allowed: boolean; reasons: string[] }>(
      f.call(explain(AGENTS.prodOnly, "?environment=staging&ref_protected=true"), {
        token: TOKENS.developer,
      }),
    );
    expect(denied).toEqual({
      allowed: false,
      reasons: ['environment "staging" matches none of: production'],
    });
    const allowed = await json<{ allowed: boolean }>(
      f.call(explain(AGENTS.prodOnly, "?environment=production&ref_protected=true"), {
        token: TOKENS.developer,
      }),
    );
    expect(allowed.allowed).toBe(true);
  });

  it("answers 404 for a project the caller cannot see, and for an agent they may not know of", async () => {
    expect(await json(f.call(explain(AGENTS.groups), { token: TOKENS.outsider }), 404)).toEqual({
      message: "404 Project Not Found",
    });
    expect(await json(f.call(explain(AGENTS.unseen), { token: TOKENS.developer }), 404)).toEqual({
      message: "404 Not found",
    });
    const visibleToAdmin = await json<{ allowed: boolean }>(
      f.call(explain(AGENTS.unseen), { token: TOKENS.admin }),
    );
    expect(visibleToAdmin.allowed).toBe(false);
  });
});
