import { ok } from "@kasmap/testing/system";
import { beforeAll, describe, expect, it } from "vitest";
import { groupWithProject, kasmapSystemForFile, userWithToken } from "./system-for-file.ts";

/**
 * Issue 7.3 through the public API, with the real authz and projection: an agent config over
 * the byte limit is `413` naming the limit, a huge but allowed one answers a bounded summary,
 * and the system keeps applying later writes (a membership downgrade reaches the read model).
 */
const ADMIN_TOKEN = "glpat-admin-config-limits-test";
const CONFIG_LIMIT_BYTES = 256 * 1024;
const system = kasmapSystemForFile({ adminToken: ADMIN_TOKEN });
let agentPath = "";
let projectId = 0;

beforeAll(async () => {
  ({ projectId } = await groupWithProject(system, ADMIN_TOKEN, { group: "Acme", project: "infra" }));
  const agent = await ok<{ id: number }>(
    system.call("POST", `/api/v4/projects/${projectId}/cluster_agents`, ADMIN_TOKEN, { name: "prod" }),
    201,
  );
  agentPath = `/api/v4/projects/${projectId}/cluster_agents/${agent.id}`;
});

const putConfig = (body: unknown) => system.call("PUT", `${agentPath}/configuration`, ADMIN_TOKEN, body);

describe("PUT …/configuration size limits", () => {
  it("answers 413 naming the limit for a config over it, as YAML and as JSON, however large", async () => {
    const yaml = `# ${"x".repeat(CONFIG_LIMIT_BYTES)}\nci_access:\n  projects:\n    - id: acme/infra\n`;
    const huge = `# ${"x".repeat(3 * 1024 * 1024)}\n`;
    for (const body of [yaml, { content: yaml }, huge]) {
      const response = await putConfig(body);
      expect(response.status).toBe(413);
      const answer = (await response.json()) as { message: string };
      expect(answer.message).toMatch(/^413 Request Entity Too Large - /);
      expect(answer.message).toContain(`${CONFIG_LIMIT_BYTES} bytes`);
    }
  });

  it("answers an ordinary user's 20,000-entry config with the dropped count and the first 100, and keeps applying writes", async () => {
    const pat = await userWithToken(system, ADMIN_TOKEN, "dev");
    // Nothing but a personal project is needed to send one.
    const own = await ok<{ id: number }>(
      system.call("POST", "/api/v4/projects", pat.token, { name: "mine" }),
      201,
    );
    const ownAgent = await ok<{ id: number }>(
      system.call("POST", `/api/v4/projects/${own.id}/cluster_agents`, pat.token, { name: "mine" }),
      201,
    );
    const entries = (prefix: string) =>
      `[${Array.from({ length: 10_000 }, (_, i) => `{id: ${prefix}${i.toString(36)}}`).join(",")}]`;
    const yaml = `ci_access:\n  projects: ${entries("a/x")}\n  groups: ${entries("x")}\n`;
    expect(yaml.length).toBeLessThan(CONFIG_LIMIT_BYTES);
    const summary = await ok<{ dropped_count: number; dropped: unknown[] }>(
      system.call(
        "PUT",
        `/api/v4/projects/${own.id}/cluster_agents/${ownAgent.id}/configuration`,
        pat.token,
        yaml,
      ),
      200,
    );
    expect(summary.dropped_count).toBe(20_000);
    expect(summary.dropped).toHaveLength(100);

    const members = `/api/v4/projects/${projectId}/members`;
    await ok(system.call("POST", members, ADMIN_TOKEN, { user_id: pat.userId, access_level: 30 }), 201);
    await ok(system.call("GET", agentPath, pat.token), 200);
    // The downgrade to Reporter must reach the read model: agents need Developer+.
    await ok(system.call("PUT", `${members}/${pat.userId}`, ADMIN_TOKEN, { access_level: 20 }), 200);
    expect((await system.call("GET", agentPath, pat.token)).status).toBe(404);
  });

  it("answers a YAML alias bomb with 400", async () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let level = 0; level < 9; level++) {
      const previous = level === 0 ? "a" : `b${level - 1}`;
      lines.push(`b${level}: &b${level} [${Array(10).fill(`*${previous}`).join(",")}]`);
    }
    const response = await putConfig(`${lines.join("\n")}\n`);
    expect(response.status).toBe(400);
  });
});
