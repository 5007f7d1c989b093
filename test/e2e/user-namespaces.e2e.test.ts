import { gatewayClient } from "@kasmap/testing";
import { eventually } from "@kasmap/testing/harness";
import { beforeAll, describe, expect, it } from "vitest";
import { kasmapSystemForFile } from "./system-for-file.ts";

/**
 * Personal (user) namespaces through REST, as GitLab has them: a project created without
 * `namespace_id` lands in the caller's namespace, whose owner is Owner of it; the namespace is the
 * root for the agent rules, so a personal agent serves only its owner's personal projects, and
 * `ci_access.groups` can never name a user namespace.
 */
const system = kasmapSystemForFile();
const tokens = { alice: "", bob: "" };

type Body = Record<string, unknown> | null;
type AllowedAgents = { allowed_agents: Array<{ id: number; rule: string }> };

beforeAll(async () => {
  for (const username of ["alice", "bob"] as const) {
    const user = await system.api("POST", "/users", {
      username,
      name: username === "alice" ? "Alice" : "Bob",
    });
    expect(user.status, JSON.stringify(user.body)).toBe(201);
    const token = await system.api("POST", `/users/${user.body?.id}/personal_access_tokens`, {
      name: "e2e",
      scopes: ["api"],
    });
    expect(token.status).toBe(201);
    tokens[username] = String(token.body?.token);
  }
});

async function created(path: string, body: unknown, token: string): Promise<Body> {
  const response = await system.api("POST", path, body, token);
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body;
}

async function allowedAgentIds(project: string, token: string): Promise<Array<[number, string]>> {
  const response = await system.api("GET", `/projects/${project}/allowed_agents`, undefined, token);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return (response.body as unknown as AllowedAgents).allowed_agents.map((a) => [a.id, a.rule]);
}

describe("personal namespaces", () => {
  it("a personal agent serves the owner's listed personal projects, never group projects", async () => {
    const infra = await created("/projects", { name: "infra" }, tokens.alice);
    expect(infra).toMatchObject({
      path_with_namespace: "alice/infra",
      name_with_namespace: "Alice / infra",
      namespace: { kind: "user", path: "alice", full_path: "alice", parent_id: null },
    });
    const app = await created("/projects", { name: "app" }, tokens.alice);
    const acme = await created("/groups", { name: "Acme", path: "acme" }, system.adminToken);
    const web = await created("/projects", { name: "web", namespace_id: acme?.id }, system.adminToken);

    const agent = await created("/projects/alice%2Finfra/cluster_agents", { name: "personal" }, tokens.alice);
    const config = await system.api(
      "PUT",
      `/projects/alice%2Finfra/cluster_agents/${agent?.id}/configuration`,
      {
        content:
          "ci_access:\n  projects:\n    - id: alice/app\n    - id: acme/web\n  groups:\n    - id: alice\n",
      },
      tokens.alice,
    );
    expect(config.status, JSON.stringify(config.body)).toBe(200);
    expect(config.body?.dropped).toEqual([
      { access: "ci_access", target_type: "project", path: "acme/web", reason: "outside-root-group" },
      { access: "ci_access", target_type: "group", path: "alice", reason: "not-found" },
    ]);

    const agentId = Number(agent?.id);
    await eventually(async () => {
      const ids = await allowedAgentIds(String(app?.id), tokens.alice);
      return ids.length > 0 ? ids : undefined;
    }, "alice/app allowed the personal agent");
    expect(await allowedAgentIds("alice%2Fapp", tokens.alice)).toEqual([[agentId, "explicit_project"]]);
    expect(await allowedAgentIds("alice%2Finfra", tokens.alice)).toEqual([
      [agentId, "implicit_config_project"],
    ]);
    expect(await allowedAgentIds(String(web?.id), system.adminToken)).toEqual([]);

    // A CI job of the personal project: GitLab lists no groups for it (`project.group` is nil).
    const job = await created(
      `/projects/${app?.id}/jobs`,
      { ref: "main", ref_protected: false },
      tokens.alice,
    );
    const jobAnswer = await gatewayClient(system.gatewayUrl).fetch("/api/v4/job/allowed_agents", {
      token: String(job?.token),
      tokenHeader: "job-token",
    });
    expect(jobAnswer.status).toBe(200);
    expect(await jobAnswer.json()).toMatchObject({
      allowed_agents: [{ id: agentId }],
      project: { id: app?.id, groups: [] },
      user: {
        username: "alice",
        roles_in_project: ["guest", "reporter", "developer", "maintainer", "owner"],
      },
    });

    // Another user learns nothing about alice's projects or namespace.
    for (const path of ["/projects/alice%2Fapp", `/projects/${app?.id}/allowed_agents`]) {
      const response = await system.api("GET", path, undefined, tokens.bob);
      expect(response.status).toBe(404);
      expect(response.body).toEqual({ message: "404 Project Not Found" });
    }
  });

  it("only the owner puts projects in a user namespace, which is no group", async () => {
    const own = await created("/projects", { name: "notes" }, tokens.bob);
    expect(own?.path_with_namespace).toBe("bob/notes");
    const infra = await system.api("GET", "/projects/alice%2Finfra", undefined, tokens.alice);
    const aliceNamespace = (infra.body?.namespace as { id: number } | undefined)?.id;

    const intoAlice = await system.api(
      "POST",
      "/projects",
      { name: "x", namespace_id: aliceNamespace },
      tokens.bob,
    );
    // GitLab's `validate_create_permissions`, the same answer as for a namespace that is missing.
    expect(intoAlice.status).toBe(400);
    expect(intoAlice.body).toEqual({ message: { namespace: ["is not valid"] } });
    const moved = await system.api(
      "PUT",
      `/projects/${own?.id}/transfer`,
      { namespace: "alice" },
      tokens.bob,
    );
    expect(moved.body).toEqual({ message: "404 Namespace Not Found" });

    // The owner, by id or path: an explicit namespace_id of her own works, and so does a move.
    const explicit = await created("/projects", { name: "docs", namespace_id: aliceNamespace }, tokens.alice);
    expect(explicit?.path_with_namespace).toBe("alice/docs");

    // The groups API never shows a user namespace, even to its owner, and takes no subgroups.
    for (const token of [tokens.alice, system.adminToken]) {
      const group = await system.api("GET", "/groups/alice", undefined, token);
      expect(group.status).toBe(404);
      expect(group.body).toEqual({ message: "404 Group Not Found" });
    }
    const subgroup = await system.api(
      "POST",
      "/groups",
      { name: "sub", path: "sub", parent_id: aliceNamespace },
      tokens.alice,
    );
    expect(subgroup.body).toEqual({ message: "404 Group Not Found" });

    // A username and a top-level group path share one path space.
    const clash = await system.api("POST", "/groups", { name: "Alice", path: "alice" }, system.adminToken);
    expect(clash.status).toBe(400);
    expect(clash.body).toEqual({ message: 'Failed to save group {:path=>["has already been taken"]}' });
  });

  it("a project member of a personal project keeps their role; the owner is Owner", async () => {
    const bob = (await system.api("GET", "/user", undefined, tokens.bob)).body;
    const shared = await created("/projects", { name: "shared" }, tokens.alice);
    // Owner-only: adding a member. Alice holds Owner through her namespace.
    await created(`/projects/${shared?.id}/members`, { user_id: bob?.id, access_level: 30 }, tokens.alice);
    const seen = await system.api("GET", "/projects/alice%2Fshared", undefined, tokens.bob);
    expect(seen.status).toBe(200);
    expect(await allowedAgentIds("alice%2Fshared", tokens.bob)).toEqual([]);
    // A Developer may not add members (403: bob sees the project).
    const denied = await system.api(
      "POST",
      `/projects/${shared?.id}/members`,
      { user_id: bob?.id, access_level: 40 },
      tokens.bob,
    );
    expect(denied.status).toBe(403);
  });
});
