import { type KasmapSystem, ok } from "@kasmap/testing/system";

/*
 * Registry rows made through the REST API, as users make them: shared by end-to-end files (via
 * system-for-file.ts) and by scripts that run outside vitest (the console's screenshots).
 */

/** A group and a project in it, created by `token` through the API; their ids. */
export async function groupWithProject(
  system: KasmapSystem,
  token: string,
  names: { group: string; project: string },
): Promise<{ groupId: number; projectId: number }> {
  const group = await ok<{ id: number }>(
    system.call("POST", "/api/v4/groups", token, { name: names.group, path: names.group.toLowerCase() }),
    201,
  );
  const project = await ok<{ id: number }>(
    system.call("POST", "/api/v4/projects", token, { name: names.project, namespace_id: group.id }),
    201,
  );
  return { groupId: group.id, projectId: project.id };
}

/** An agent registered in the project by the admin, with an agent token named `collector` for it. */
export async function agentWithToken(
  system: KasmapSystem,
  projectId: number,
  name: string,
): Promise<{ agentId: number; agentToken: string }> {
  const agents = `/api/v4/projects/${projectId}/cluster_agents`;
  const agent = await ok<{ id: number }>(system.call("POST", agents, system.adminToken, { name }), 201);
  const token = await ok<{ token: string }>(
    system.call("POST", `${agents}/${agent.id}/tokens`, system.adminToken, { name: "collector" }),
    201,
  );
  return { agentId: agent.id, agentToken: token.token };
}

/** A user created by `adminToken`, with a personal access token of `scopes` (`api` unless told). */
export async function userWithToken(
  system: KasmapSystem,
  adminToken: string,
  username: string,
  scopes: string[] = ["api"],
): Promise<{ userId: number; tokenId: number; token: string }> {
  const user = await ok<{ id: number }>(
    system.call("POST", "/api/v4/users", adminToken, { username, name: username }),
    201,
  );
  const token = await ok<{ id: number; token: string }>(
    system.call("POST", `/api/v4/users/${user.id}/personal_access_tokens`, adminToken, {
      name: "cli",
      scopes,
    }),
    201,
  );
  return { userId: user.id, tokenId: token.id, token: token.token };
}
