import type { KasmapSystem } from "@kasmap/testing/system";
import { expect } from "vitest";

/**
 * A small registry with one user per GitLab role, for the tests that sweep the route table
 * (the HTTP fuzz test and the role × route matrix):
 *
 * - group `world` holding project `world/app`, whose agent `world-agent` has one active token,
 *   a configuration that authorizes `world/app`, and one running CI job;
 * - group `hidden` holding project `hidden/secret` with agent `hidden-agent`, where only the admin
 *   has a role (a non-member's "hidden" case: it exists, the caller may not see it);
 * - users `guest` … `owner` as members of group `world` (so they hold the role on `world/app`
 *   by inheritance, as GitLab's members API documents), `outsider` with no membership, and the
 *   bootstrapped admin.
 */
export type World = {
  system: KasmapSystem;
  group: { id: number; full_path: string };
  project: { id: number; path_with_namespace: string };
  agent: { id: number };
  agentToken: { id: number };
  hiddenGroup: { id: number; full_path: string };
  hiddenProject: { id: number; path_with_namespace: string };
  hiddenAgent: { id: number };
  /** Personal access tokens with the `api` scope, by role. */
  tokens: Record<WorldRole, string>;
  userIds: Record<WorldRole, number>;
  /** The job token of a running job in `world/app`, started by the developer. */
  jobToken: string;
};

export const WORLD_ROLES = [
  "admin",
  "owner",
  "maintainer",
  "developer",
  "reporter",
  "guest",
  "outsider",
] as const;
export type WorldRole = (typeof WORLD_ROLES)[number];

/** GitLab's access levels (`doc/api/members.md`, "Roles"). */
export const ACCESS_LEVEL_OF = { guest: 10, reporter: 20, developer: 30, maintainer: 40, owner: 50 } as const;

type Body = Record<string, unknown>;

/** Calls the API expecting `status`, and returns the body. */
export async function expectStatus(
  system: KasmapSystem,
  status: number,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<Body> {
  const response = await system.api(method, path, body, token);
  expect(response.status, `${method} ${path}: ${JSON.stringify(response.body)}`).toBe(status);
  return response.body ?? {};
}

/** A user with a personal access token (`scopes`, default `api`), made by the admin. */
export async function createUserWithToken(
  system: KasmapSystem,
  username: string,
  tokenFields: Record<string, unknown> = {},
): Promise<{ id: number; token: string; tokenId: number }> {
  const user = await expectStatus(system, 201, "POST", "/users", { username, name: username });
  const token = await expectStatus(system, 201, "POST", `/users/${user.id}/personal_access_tokens`, {
    name: `${username}-token`,
    scopes: ["api"],
    ...tokenFields,
  });
  return { id: Number(user.id), token: String(token.token), tokenId: Number(token.id) };
}

export async function buildWorld(system: KasmapSystem): Promise<World> {
  const admin = system.adminToken;
  const group = await expectStatus(system, 201, "POST", "/groups", { name: "World", path: "world" });
  const project = await expectStatus(system, 201, "POST", "/projects", {
    name: "app",
    namespace_id: group.id,
  });
  const agent = await expectStatus(system, 201, "POST", `/projects/${project.id}/cluster_agents`, {
    name: "world-agent",
  });
  const agentToken = await expectStatus(
    system,
    201,
    "POST",
    `/projects/${project.id}/cluster_agents/${agent.id}/tokens`,
    { name: "world-agent-token" },
  );
  await expectStatus(system, 200, "PUT", `/projects/${project.id}/cluster_agents/${agent.id}/configuration`, {
    content: "ci_access:\n  projects:\n    - id: world/app\n",
  });
  const hiddenGroup = await expectStatus(system, 201, "POST", "/groups", { name: "Hidden", path: "hidden" });
  const hiddenProject = await expectStatus(system, 201, "POST", "/projects", {
    name: "secret",
    namespace_id: hiddenGroup.id,
  });
  const hiddenAgent = await expectStatus(
    system,
    201,
    "POST",
    `/projects/${hiddenProject.id}/cluster_agents`,
    {
      name: "hidden-agent",
    },
  );

  const adminUser = await expectStatus(system, 200, "GET", "/user");
  const tokens = { admin } as Record<WorldRole, string>;
  const userIds = { admin: Number(adminUser.id) } as Record<WorldRole, number>;
  for (const role of WORLD_ROLES) {
    if (role === "admin") continue;
    const user = await createUserWithToken(system, `world-${role}`);
    tokens[role] = user.token;
    userIds[role] = user.id;
    if (role !== "outsider") {
      await expectStatus(system, 201, "POST", `/groups/${group.id}/members`, {
        user_id: user.id,
        access_level: ACCESS_LEVEL_OF[role],
      });
    }
  }
  const job = await expectStatus(system, 201, "POST", `/projects/${project.id}/jobs`, {}, tokens.developer);
  return {
    system,
    group: { id: Number(group.id), full_path: String(group.full_path) },
    project: { id: Number(project.id), path_with_namespace: String(project.path_with_namespace) },
    agent: { id: Number(agent.id) },
    agentToken: { id: Number(agentToken.id) },
    hiddenGroup: { id: Number(hiddenGroup.id), full_path: String(hiddenGroup.full_path) },
    hiddenProject: {
      id: Number(hiddenProject.id),
      path_with_namespace: String(hiddenProject.path_with_namespace),
    },
    hiddenAgent: { id: Number(hiddenAgent.id) },
    tokens,
    userIds,
    jobToken: String(job.token),
  };
}
