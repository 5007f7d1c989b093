import { ok } from "@kasmap/testing/system";
import { beforeAll, describe, expect, it } from "vitest";
import { groupWithProject, kasmapSystemForFile, userWithToken } from "./system-for-file.ts";

/**
 * Issue 7.8: below Maintainer, the agent write routes must not tell an existing agent from a
 * missing one. GitLab checks the role on the project before it looks the agent up, so both
 * answer 403; a project the caller cannot see at all stays 404.
 */
const ADMIN = "glpat-admin-existence-test";
const system = kasmapSystemForFile({ adminToken: ADMIN });
let agentsPath: string;
let existingAgent: number;
let developerToken: string;
let outsiderToken: string;

beforeAll(async () => {
  const { projectId } = await groupWithProject(system, ADMIN, { group: "Acme", project: "infra" });
  agentsPath = `/api/v4/projects/${projectId}/cluster_agents`;
  existingAgent = (await ok<{ id: number }>(system.call("POST", agentsPath, ADMIN, { name: "prod" }), 201))
    .id;
  const user = async (username: string, level: number | null) => {
    const created = await userWithToken(system, ADMIN, username);
    if (level !== null) {
      await ok(
        system.call("POST", `/api/v4/projects/${projectId}/members`, ADMIN, {
          user_id: created.userId,
          access_level: level,
        }),
        201,
      );
    }
    return created.token;
  };
  developerToken = await user("dev", 30);
  outsiderToken = await user("outsider", null);
});

const MISSING_AGENT = 987_654;

/** Each agent write route, for a given agent id. */
const writes: Array<[string, (agentId: number) => [string, string, unknown?]]> = [
  ["delete the agent", (id) => ["DELETE", `${agentsPath}/${id}`]],
  ["put its configuration", (id) => ["PUT", `${agentsPath}/${id}/configuration`, { content: "{}" }]],
  ["create a token", (id) => ["POST", `${agentsPath}/${id}/tokens`, { name: "t" }]],
  ["revoke a token", (id) => ["DELETE", `${agentsPath}/${id}/tokens/1`]],
];

async function answer(method: string, path: string, token: string, body?: unknown) {
  const response = await system.call(method, path, token, body);
  return { status: response.status, body: await response.text() };
}

describe("agent write routes below the required role", () => {
  it.each(writes)(
    "answer a developer the same 403 to %s for an existing and a missing agent",
    async (_what, route) => {
      const [method, existingPath, body] = route(existingAgent);
      const [, missingPath] = route(MISSING_AGENT);
      const existing = await answer(method, existingPath, developerToken, body);
      const missing = await answer(method, missingPath, developerToken, body);
      expect(existing).toEqual({ status: 403, body: JSON.stringify({ message: "403 Forbidden" }) });
      expect(missing).toEqual(existing);
    },
  );

  it.each(writes)("answer a non-member 404 Project to %s either way", async (_what, route) => {
    const [method, existingPath, body] = route(existingAgent);
    const [, missingPath] = route(MISSING_AGENT);
    const existing = await answer(method, existingPath, outsiderToken, body);
    expect(existing).toEqual({ status: 404, body: JSON.stringify({ message: "404 Project Not Found" }) });
    expect(await answer(method, missingPath, outsiderToken, body)).toEqual(existing);
  });
});
