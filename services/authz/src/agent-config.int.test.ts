import { EVENT_TYPES, KasmapEventSchema } from "@kasmap/contracts";
import { beforeAll, describe, expect, it } from "vitest";
import { authzTestEnvironmentForFile } from "./testing/authz-test-environment.ts";

const env = authzTestEnvironmentForFile();
const ids = { root: 0, sub: 0, other: 0, configProject: 0, target: 0, agent: 0 };

beforeAll(async () => {
  const actor_user_id = env.adminId;
  const group = (name: string, parent_id?: number) =>
    env.command("group.create", { actor_user_id, name, path: name, parent_id: parent_id ?? null });
  const project = (name: string, namespace_id: number) =>
    env.command("project.create", { actor_user_id, name, path: name, namespace_id });
  ids.root = (await group("acme")).result.id;
  ids.sub = (await group("apps", ids.root)).result.id;
  ids.other = (await group("elsewhere")).result.id;
  ids.configProject = (await project("agents", ids.root)).result.id;
  ids.target = (await project("web", ids.sub)).result.id;
  await project("outside", ids.other);
  ids.agent = (
    await env.command("agent.create", { actor_user_id, project_id: ids.configProject, name: "prod" })
  ).result.id;
});

/** Every authz.changed event of the test agent, oldest first. */
async function authzEventsOf(agentId: number) {
  const info = await env.bus.jsm.streams.info(env.bus.topology.streamNames.authz);
  const events = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const message = await env.bus.jsm.streams.getMessage(env.bus.topology.streamNames.authz, { seq });
    if (!message) continue;
    const event = KasmapEventSchema.parse(message.json());
    if (event.type === EVENT_TYPES.authzChanged && event.data.agent_id === agentId) events.push(event.data);
  }
  return events;
}

const put = (yaml: string) =>
  env.command("agent_config.put", {
    actor_user_id: env.adminId,
    project_id: ids.configProject,
    agent_id: ids.agent,
    yaml,
  });

describe("agent configuration", () => {
  it("stores resolvable entries and reports the dropped ones", async () => {
    const outcome = await put(
      [
        "ci_access:",
        "  projects:",
        "    - id: ACME/apps/web",
        "      default_namespace: web",
        "    - id: acme/missing",
        "    - id: elsewhere/outside",
        "  groups:",
        "    - id: acme/apps",
        "user_access:",
        "  access_as: { agent: {} }",
        "  projects: [ { id: acme/apps/web } ]",
      ].join("\n"),
    );
    expect(outcome.result).toMatchObject({
      agent_id: ids.agent,
      ci_access: { projects: 1, groups: 1 },
      user_access: { projects: 1, groups: 0 },
    });
    expect(outcome.result.dropped).toEqual([
      { access: "ci_access", target_type: "project", path: "acme/missing", reason: "not-found" },
      {
        access: "ci_access",
        target_type: "project",
        path: "elsewhere/outside",
        reason: "outside-root-group",
      },
    ]);
    const events = await authzEventsOf(ids.agent);
    expect(events.map((e) => e.cause)).toEqual(["agent_created", "config_changed"]);
    const latest = events.at(-1);
    expect(latest?.grants.ci_access.projects).toEqual([
      { project_id: ids.target, config: { default_namespace: "web" } },
    ]);
    expect(latest?.added).toHaveLength(3);
    expect(latest?.dropped).toHaveLength(2);
    expect(latest?.actor_user_id).toBe(env.adminId);
  });

  it("refuses a malformed config naming line and field, and keeps the previous grants", async () => {
    const refused = await env.refusal("agent_config.put", {
      actor_user_id: env.adminId,
      project_id: ids.configProject,
      agent_id: ids.agent,
      yaml: [
        "ci_access:",
        "  projects:",
        "    - id: acme/apps/web",
        "      access_as: { agent: {}, ci_job: {} }",
      ].join("\n"),
    });
    expect(refused.code).toBe("validation_failed");
    const [field, messages] = Object.entries(refused.fields ?? {})[0] ?? [];
    expect(field).toMatch(/^ci_access\.projects.*0.*access_as/);
    expect(messages?.[0]).toMatch(/^line 4: /);
    const syntax = await env.refusal("agent_config.put", {
      actor_user_id: env.adminId,
      project_id: ids.configProject,
      agent_id: ids.agent,
      yaml: "ci_access:\n  projects: [ { id: x }\n",
    });
    expect(syntax.code).toBe("validation_failed");
    expect((await env.storedAgentConfig(ids.agent))?.grants.ci_access.projects).toHaveLength(1);
  });

  it("moves a group: recomputes the subtree's traversal_ids and re-resolves affected agents", async () => {
    const moved = await env.command("group.transfer", {
      actor_user_id: env.adminId,
      group_id: ids.sub,
      parent_id: ids.other,
    });
    expect(moved.result).toMatchObject({
      parent_id: ids.other,
      full_path: "elsewhere/apps",
      traversal_ids: [ids.other, ids.sub],
    });
    const project = await env.db
      .selectFrom("authz.projects")
      .select(["traversal_ids", "path_with_namespace"])
      .where("id", "=", ids.target)
      .executeTakeFirstOrThrow();
    expect(project).toEqual({
      traversal_ids: [ids.other, ids.sub],
      path_with_namespace: "elsewhere/apps/web",
    });
    const latest = (await authzEventsOf(ids.agent)).at(-1);
    expect(latest?.cause).toBe("group_moved");
    // The old paths no longer resolve: the grants on the moved group and project are gone.
    expect(latest?.grants.ci_access).toEqual({ projects: [], groups: [] });
    expect(latest?.removed).toEqual(
      expect.arrayContaining([
        { access: "ci_access", target_type: "project", target_id: ids.target },
        { access: "ci_access", target_type: "group", target_id: ids.sub },
      ]),
    );
    const intoItself = await env.refusal("group.transfer", {
      actor_user_id: env.adminId,
      group_id: ids.other,
      parent_id: ids.sub,
    });
    expect(intoItself.toGitLabBody()).toEqual({
      message: "Transfer failed: Cannot transfer group to one of its subgroup.",
    });
  });

  it("moves the configuration project out of the targets' root: entries become outside-root-group", async () => {
    await env.command("group.transfer", {
      actor_user_id: env.adminId,
      group_id: ids.sub,
      parent_id: ids.root,
    });
    await put("ci_access:\n  groups:\n    - id: acme/apps\n");
    const moved = await env.command("project.transfer", {
      actor_user_id: env.adminId,
      project_id: ids.configProject,
      namespace_id: ids.other,
    });
    expect(moved.result).toMatchObject({
      path_with_namespace: "elsewhere/agents",
      traversal_ids: [ids.other],
    });
    const latest = (await authzEventsOf(ids.agent)).at(-1);
    expect(latest).toMatchObject({ cause: "project_moved", config_project_id: ids.configProject });
    expect(latest?.grants.ci_access.groups).toEqual([]);
    expect(latest?.dropped).toEqual([
      { access: "ci_access", target_type: "group", path: "acme/apps", reason: "outside-root-group" },
    ]);
  });

  it("re-resolves an agent whose config names the path a moved project arrives at", async () => {
    // The configuration project now lives in root "elsewhere" (previous test).
    const first = await put("ci_access:\n  projects:\n    - id: elsewhere/late\n");
    expect(first.result.dropped).toEqual([
      { access: "ci_access", target_type: "project", path: "elsewhere/late", reason: "not-found" },
    ]);
    const late = await env.command("project.create", {
      actor_user_id: env.adminId,
      name: "late",
      path: "late",
      namespace_id: ids.root,
    });
    await env.command("project.transfer", {
      actor_user_id: env.adminId,
      project_id: late.result.id,
      namespace_id: ids.other,
    });
    const latest = (await authzEventsOf(ids.agent)).at(-1);
    expect(latest).toMatchObject({ cause: "project_moved", dropped: [] });
    expect(latest?.added).toEqual([
      { access: "ci_access", target_type: "project", target_id: late.result.id },
    ]);
  });
});
