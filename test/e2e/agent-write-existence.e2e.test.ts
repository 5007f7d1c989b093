import { type KasmapSystem, ok, startKasmapSystem } from "@kasmap/testing/system";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Issue 7.8: below Maintainer, the agent write routes must not tell an existing agent from a
 * missing one. GitLab checks the role on the project before it looks the agent up, so both
 * answer 403; a project the caller cannot see at all stays 404.
 */
const ADMIN = "glpat-admin-existence-test";
let system: KasmapSystem;
let agentsPath: string;
let existingAgent: number;
let developerToken: string;
let outsiderToken: string;

beforeAll(async () => {
  system = await startKasmapSystem({ adminToken: ADMIN });
  const group = await ok<{ id: number }>(
    system.call("POST", "/api/v4/groups", ADMIN, { name: "Acme", path: "acme" }),
    201,
  );
  const project = await ok<{ id: number }>(
    system.call("POST", "/api/v4/projects", ADMIN, { name: "infra", namespace_id: group.id }),
    201,
  );
  agentsPath = `/api/v4/projects/${project.id}/cluster_agents`;
  existingAgent = (await ok<{ id: number }>(system.call("POST", agentsPath, ADMIN, { name: "prod" }), 201))
    .id;
  const user = async (username: string, level: number | null) => {
    const created = await ok<{ id: number }>(
      system.call("POST", "/api/v4/users", ADMIN, { username, name: username }),
      201,
    );
    const pat = await ok<{ token: string }>(
      system.call("POST", `/api/v4/users/${created.id}/personal_access_tokens`, ADMIN, {
        name: "cli",
        scopes: ["api"],
      }),
      201,
    );
    if (level !== null) {
      await ok(
        system.call("POST", `/api/v4/projects/${project.id}/members`, ADMIN, {
          user_id: created.id,
          access_level: level,
        }),
        201,
      );
    }
    return pat.token;
  };
  developerToken = await user("dev", 30);
  outsiderToken = await user("outsider", null);
});

afterAll(async () => {
  await system?.stop();
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
