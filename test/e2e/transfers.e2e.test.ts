import { describe, expect, it } from "vitest";
import { kasmapSystemForFile, userWithToken } from "./system-for-file.ts";

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

  it("answers in GitLab's order and words: role on the source first, then the target, then the service's refusal", async () => {
    const top = await created("/groups", { name: "Top", path: "top" });
    const sub = await created("/groups", { name: "Sub", path: "sub", parent_id: top });
    const dev = await created("/groups", { name: "Dev", path: "dev" });
    const project = await created("/projects", { name: "Svc", path: "svc", namespace_id: top });
    const owner = await userWithToken(system, system.adminToken, "transfer-owner");
    const maintainer = await userWithToken(system, system.adminToken, "transfer-maintainer");
    for (const [group, user, level] of [
      [top, owner, 50],
      [dev, owner, 30],
      [top, maintainer, 40],
    ] as const) {
      const member = await system.api("POST", `/groups/${group}/members`, {
        user_id: user.userId,
        access_level: level,
      });
      expect(member.status).toBe(201);
    }
    const as = (user: { token: string }, method: string, path: string, body: unknown) =>
      system.api(method, path, body, user.token);

    // A Maintainer may not move the group or the project: 403, whatever the target names.
    for (const [method, path, body] of [
      ["POST", `/groups/${sub}/transfer`, { group_id: 999_999 }],
      ["PUT", `/projects/${project}/transfer`, { namespace: 999_999 }],
    ] as const) {
      const refused = await as(maintainer, method, path, body);
      expect({ status: refused.status, body: refused.body }).toEqual({
        status: 403,
        body: { message: "403 Forbidden" },
      });
    }
    const noParent = await as(owner, "POST", `/groups/${sub}/transfer`, { group_id: 999_999 });
    expect({ status: noParent.status, body: noParent.body }).toEqual({
      status: 404,
      body: { message: "404 Group Not Found" },
    });

    const groupFailures = [
      [sub, { group_id: dev }, "Transfer failed: You don't have enough permissions."],
      [sub, { group_id: top }, "Transfer failed: Group is already associated to the parent group."],
      [top, {}, "Transfer failed: Group is already a root group."],
      [top, { group_id: sub }, "Transfer failed: Cannot transfer group to one of its subgroup."],
    ] as const;
    for (const [group, body, message] of groupFailures) {
      const refused = await as(owner, "POST", `/groups/${group}/transfer`, body);
      expect({ status: refused.status, body: refused.body }).toEqual({ status: 400, body: { message } });
    }
    const projectFailures = [
      [top, "Project is already in this namespace."],
      [dev, "You don't have permission to transfer projects into that namespace."],
    ] as const;
    for (const [namespace, reason] of projectFailures) {
      const refused = await as(owner, "PUT", `/projects/${project}/transfer`, { namespace });
      expect({ status: refused.status, body: refused.body }).toEqual({
        status: 400,
        body: { message: `Failed to transfer project {:new_namespace=>[${JSON.stringify(reason)}]}` },
      });
    }
  });

  it("lets a group Developer create projects there; a missing, hidden or too-high namespace is one answer", async () => {
    const team = await created("/groups", { name: "Team", path: "team" });
    const hidden = await created("/groups", { name: "Hidden", path: "hidden" });
    const developer = await userWithToken(system, system.adminToken, "team-developer");
    const guest = await userWithToken(system, system.adminToken, "team-guest");
    for (const [user, level] of [
      [developer, 30],
      [guest, 10],
    ] as const) {
      const member = await system.api("POST", `/groups/${team}/members`, {
        user_id: user.userId,
        access_level: level,
      });
      expect(member.status).toBe(201);
    }
    const made = await system.api("POST", "/projects", { name: "Tool", namespace_id: team }, developer.token);
    expect(made.status).toBe(201);
    expect(made.body?.path_with_namespace).toBe("team/tool");
    for (const [user, namespace_id] of [
      [guest, team],
      [developer, 999_999],
      [developer, hidden],
    ] as const) {
      const refused = await system.api("POST", "/projects", { name: "X", namespace_id }, user.token);
      expect({ status: refused.status, body: refused.body }).toEqual({
        status: 400,
        body: { message: { namespace: ["is not valid"] } },
      });
    }
  });
});
