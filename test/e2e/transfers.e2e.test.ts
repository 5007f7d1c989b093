import { describe, expect, it } from "vitest";
import { kasmapSystemForFile } from "./system-for-file.ts";

/**
 * Moving projects and groups through GitLab's transfer endpoints re-evaluates who may use which
 * agent: an agent shared with a group stays usable only while the project shares the agent
 * project's root group (agent_authorization_include_descendants, on by default).
 */
const system = kasmapSystemForFile();

type AllowedAgents = { allowed_agents: Array<{ id: number; rule: string; via_group_id: number | null }> };

async function created(path: string, body: unknown): Promise<number> {
  const response = await system.api("POST", path, body);
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return Number(response.body?.id);
}

describe("transfers", () => {
  it("re-evaluates authorizations when a project or a group moves", async () => {
    const acme = await created("/groups", { name: "Acme", path: "acme" });
    const platform = await created("/groups", { name: "Platform", path: "platform", parent_id: acme });
    const apps = await created("/groups", { name: "Apps", path: "apps", parent_id: acme });
    const other = await created("/groups", { name: "Other", path: "other" });
    const infra = await created("/projects", { name: "Infra", path: "infra", namespace_id: platform });
    const web = await created("/projects", { name: "Web", path: "web", namespace_id: apps });
    const agent = await created(`/projects/${infra}/cluster_agents`, { name: "prod" });
    const config = await system.api("PUT", `/projects/${infra}/cluster_agents/${agent}/configuration`, {
      content: "ci_access:\n  groups:\n    - id: acme/apps\n",
    });
    expect(config.status).toBe(200);

    const allowed = async (project: number) =>
      ((await system.api("GET", `/projects/${project}/allowed_agents`)).body as unknown as AllowedAgents)
        .allowed_agents;

    // A sibling subtree under the same root: granted through the group row.
    expect(await allowed(web)).toEqual([
      expect.objectContaining({ id: agent, rule: "group", via_group_id: apps }),
    ]);

    // The project moves to another root group: the agent is no longer usable, and explain says why.
    const moved = await system.api("PUT", `/projects/${web}/transfer`, { namespace: "other" });
    expect(moved.status).toBe(200);
    expect(moved.body?.path_with_namespace).toBe("other/web");
    expect(await allowed(web)).toEqual([]);
    const explain = await system.api("GET", `/projects/${web}/cluster_agents/${agent}/authorization/explain`);
    expect(explain.body).toMatchObject({ allowed: false });

    // And back: usable again.
    await system.api("PUT", `/projects/${web}/transfer`, { namespace: apps });
    expect(await allowed(web)).toEqual([expect.objectContaining({ id: agent, rule: "group" })]);

    // The whole group moves under another root: its projects lose the agent, and the group's
    // path changes for every descendant.
    const groupMoved = await system.api("POST", `/groups/${apps}/transfer`, { group_id: other });
    expect(groupMoved.status).toBe(201);
    expect(groupMoved.body?.full_path).toBe("other/apps");
    expect(await allowed(web)).toEqual([]);
    const webNow = await system.api("GET", `/projects/${web}`);
    expect(webNow.body?.path_with_namespace).toBe("other/apps/web");
  });

  it("refuses a move into a group the caller cannot see with GitLab's 404", async () => {
    const source = await created("/groups", { name: "Source", path: "source" });
    const project = await created("/projects", { name: "App", path: "app", namespace_id: source });
    const response = await system.api("PUT", `/projects/${project}/transfer`, { namespace: 999_999 });
    expect(response.status).toBe(404);
    expect(response.body).toEqual({ message: "404 Namespace Not Found" });
  });
});
