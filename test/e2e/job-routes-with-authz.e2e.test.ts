import { JobAllowedAgentsResponseSchema, JobCreatedResponseSchema } from "@kasmap/contracts";
import { type KasmapSystem, ok } from "@kasmap/testing/system";
import { describe, expect, it } from "vitest";
import { groupWithProject, kasmapSystemForFile, userWithToken } from "./system-for-file.ts";

/**
 * `POST /api/v4/projects/:id/jobs` through the real authz and projection, then the job's token
 * against `GET /api/v4/job/allowed_agents`: no read-model row is inserted by hand.
 */
const ADMIN = "glpat-admin-allowed-agents";
const system = kasmapSystemForFile({ adminToken: ADMIN });
const call: KasmapSystem["call"] = (...args) => system.call(...args);

describe("CI jobs registered through the gateway", () => {
  it("registers a job (Developer+) whose token sees the agents its project may use", async () => {
    const { groupId, projectId: infraId } = await groupWithProject(system, ADMIN, {
      group: "Acme",
      project: "infra",
    });
    const web = await ok<{ id: number }>(
      call("POST", "/api/v4/projects", ADMIN, { name: "web", namespace_id: groupId }),
      201,
    );
    const user = async (username: string, level: number) => {
      const { userId, token } = await userWithToken(system, ADMIN, username);
      await ok(
        call("POST", `/api/v4/groups/${groupId}/members`, ADMIN, { user_id: userId, access_level: level }),
        201,
      );
      return { id: userId, token };
    };
    const dev = await user("dev", 30);
    const reporter = await user("rep", 20);
    const maintainer = await user("maint", 40);
    const agents = `/api/v4/projects/${infraId}/cluster_agents`;
    const agent = await ok<{ id: number }>(call("POST", agents, ADMIN, { name: "prod" }), 201);
    const yaml = "ci_access:\n  groups:\n    - id: acme\n      environments: [production]\n";
    await ok(call("PUT", `${agents}/${agent.id}/configuration`, ADMIN, yaml), 200);

    expect((await call("POST", `/api/v4/projects/${web.id}/jobs`, reporter.token, {})).status).toBe(403);
    // A protected ref and an environment are the pipeline's word in GitLab: Maintainer+ here.
    const production = { ref_protected: true, environment: { name: "production", tier: "production" } };
    expect((await call("POST", `/api/v4/projects/${web.id}/jobs`, dev.token, production)).status).toBe(403);
    const job = await ok<{ id: number; token: string; environment: unknown }>(
      call("POST", `/api/v4/projects/${web.id}/jobs`, maintainer.token, {
        ref: "main",
        ref_protected: true,
        environment: { name: "production", tier: "production" },
      }),
      201,
    );
    expect(JobCreatedResponseSchema.parse(job)).toEqual(job);
    expect(job.token.startsWith("glcbt-")).toBe(true);

    // Read-your-writes: the token works at once.
    const answer = await ok<{ allowed_agents: Array<{ id: number; configuration: unknown }> }>(
      call("GET", "/api/v4/job/allowed_agents", job.token, undefined, "job-token"),
      200,
    );
    const parsed = JobAllowedAgentsResponseSchema.parse(answer);
    expect(parsed.allowed_agents.map((a) => [a.id, a.configuration])).toEqual([
      [agent.id, { environments: ["production"] }],
    ]);
    expect(parsed.project).toEqual({ id: web.id, groups: [{ id: groupId }] });
    expect(parsed.user).toEqual({
      id: maintainer.id,
      username: "maint",
      roles_in_project: ["guest", "reporter", "developer", "maintainer"],
    });
    expect(parsed.environment?.tier).toBe("production");

    // A job without an environment fails the agent's environments list.
    const plain = await ok<{ token: string }>(
      call("POST", `/api/v4/projects/${web.id}/jobs`, maintainer.token, { ref_protected: true }),
      201,
    );
    const none = await ok<{ allowed_agents: unknown[] }>(
      call("GET", "/api/v4/job/allowed_agents", plain.token, undefined, "job-token"),
      200,
    );
    expect(none.allowed_agents).toEqual([]);
  });
});
