import { type AuthzCommandRequest, EVENT_TYPES } from "@kasmap/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuthzTestEnvironment, startAuthzTestEnvironment } from "./testing/authz-test-environment.ts";
import { eventsOf as streamEventsOf } from "./testing/stream-events.ts";

// GitLab's ids for the hierarchy of the MR: Root-Group/Operators/Agent-Project holds agent 177,
// whose config grants ci_access to Root-Group/Developers; Root-Group/Developers/Feature-Project.
const G = { root: 9001, operators: 9002, developers: 9003, staging: 9100 };
const P = { agentProject: 8001, feature: 8002, personal: 8003 };
const AGENT = 177;
const CREATED = "2024-05-01T10:00:00.000Z";
const CONFIG =
  "ci_access:\n  groups:\n    - id: Root-Group/Developers\n  projects:\n    - id: Root-Group/Developers/Feature-Project\n";

let env: AuthzTestEnvironment;

const group = (id: number, name: string, parent_id: number | null, path = name) =>
  env.command("mirror.group.put", {
    id,
    name,
    path,
    description: null,
    parent_id,
    created_at: CREATED,
  });
const project = (id: number, name: string, namespace: { id: number; path: string }) =>
  env.command("mirror.project.put", {
    id,
    name,
    path: name,
    description: null,
    namespace: { ...namespace, kind: "group", name: namespace.path },
    created_at: CREATED,
  });
const agent = (id: number, name: string) =>
  env.command("mirror.agent.put", { id, project_id: P.agentProject, name, created_at: CREATED });

/** Runs `action` and returns the registry and authz events it published. */
const eventsOf = (action: () => Promise<unknown>) => streamEventsOf(env.bus, action);

const groupRow = (id: number) =>
  env.db.selectFrom("authz.groups").selectAll().where("id", "=", id).executeTakeFirst();
const projectRow = (id: number) =>
  env.db.selectFrom("authz.projects").selectAll().where("id", "=", id).executeTakeFirst();

beforeAll(async () => {
  env = await startAuthzTestEnvironment();
  await group(G.root, "Root-Group", null);
  await group(G.operators, "Operators", G.root);
  await group(G.developers, "Developers", G.root);
  await project(P.agentProject, "Agent-Project", { id: G.operators, path: "Operators" });
  await project(P.feature, "Feature-Project", { id: G.developers, path: "Developers" });
  await agent(AGENT, "prod");
  await env.command("mirror.agent_config.put", { agent_id: AGENT, yaml: CONFIG });
});

afterAll(async () => {
  await env?.close();
});

describe("mirror puts", () => {
  it("keeps GitLab's ids, paths, traversal_ids and creation times", async () => {
    expect(await groupRow(G.developers)).toMatchObject({
      full_path: "Root-Group/Developers",
      traversal_ids: [G.root, G.developers],
      parent_id: G.root,
      created_at: new Date(CREATED),
    });
    expect(await projectRow(P.feature)).toMatchObject({
      path_with_namespace: "Root-Group/Developers/Feature-Project",
      traversal_ids: [G.root, G.developers],
      namespace_id: G.developers,
    });
    const agent = await env.db
      .selectFrom("authz.agents")
      .selectAll()
      .where("id", "=", AGENT)
      .executeTakeFirst();
    expect(agent).toMatchObject({ project_id: P.agentProject, name: "prod", created_by_user_id: null });
    const grants = await env.db
      .selectFrom("authz.agent_grant_targets")
      .select(["target_type", "target_id"])
      .where("agent_id", "=", AGENT)
      .execute();
    expect(grants).toEqual(
      expect.arrayContaining([
        { target_type: "group", target_id: G.developers },
        { target_type: "project", target_id: P.feature },
      ]),
    );
  });

  it("publishes nothing when the same state is put again, but stamps mirrored_at", async () => {
    const stampedBefore = (await groupRow(G.root))?.mirrored_at;
    const events = await eventsOf(async () => {
      expect((await group(G.root, "Root-Group", null)).result).toEqual({ changed: false });
      expect(
        (await project(P.feature, "Feature-Project", { id: G.developers, path: "Developers" })).result,
      ).toEqual({ changed: false });
      expect((await agent(AGENT, "prod")).result).toEqual({ changed: false });
      const config = await env.command("mirror.agent_config.put", { agent_id: AGENT, yaml: CONFIG });
      expect(config.result.ci_access).toEqual({ projects: 1, groups: 1 });
    });
    expect(events).toEqual({ registry: [], authz: [] });
    expect((await groupRow(G.root))?.mirrored_at?.getTime()).toBeGreaterThan(stampedBefore?.getTime() ?? 0);
  });

  it("lets Kasmap's own registry create ids after the mirrored ones without collisions", async () => {
    const created = await env.command("group.create", {
      actor_user_id: env.adminId,
      name: "Own",
      path: "own",
    });
    // 9003 is the largest id mirrored so far.
    expect(created.result.id).toBeGreaterThan(G.developers);
  });

  it("a project moved in GitLab publishes its move and an authorization change naming it", async () => {
    await group(G.staging, "Staging", null);
    const events = await eventsOf(() =>
      project(P.feature, "Feature-Project", { id: G.staging, path: "Staging" }),
    );
    const moved = events.registry.find((e) => e.type === EVENT_TYPES.projectChanged);
    expect(moved?.data).toMatchObject({
      project: { id: P.feature, path_with_namespace: "Staging/Feature-Project" },
    });
    const change = events.authz.find((e) => e.type === EVENT_TYPES.authzChanged);
    // Another root group: GitLab drops the entry, so agent 177 may no longer be used by it.
    const featureGrant = { access: "ci_access", target_type: "project", target_id: P.feature };
    expect(change?.data).toMatchObject({ agent_id: AGENT, cause: "project_moved", removed: [featureGrant] });
    const backEvents = await eventsOf(() =>
      project(P.feature, "Feature-Project", { id: G.developers, path: "Developers" }),
    );
    const back = backEvents.authz.find((e) => e.type === EVENT_TYPES.authzChanged);
    expect(back?.data).toMatchObject({ agent_id: AGENT, cause: "project_moved", added: [featureGrant] });
  });

  it("a group renamed in GitLab changes the full paths of its whole subtree", async () => {
    const events = await eventsOf(() => group(G.root, "Root Group", null, "root-group"));
    const paths = events.registry.map((e) =>
      e.type === EVENT_TYPES.groupChanged
        ? (e.data as { group: { full_path: string } }).group.full_path
        : (e.data as { project: { path_with_namespace: string } }).project.path_with_namespace,
    );
    expect(paths).toEqual(
      expect.arrayContaining([
        "root-group",
        "root-group/Operators",
        "root-group/Developers",
        "root-group/Operators/Agent-Project",
        "root-group/Developers/Feature-Project",
      ]),
    );
    expect((await projectRow(P.feature))?.name_with_namespace).toBe(
      "Root Group / Developers / Feature-Project",
    );
    expect(events.authz.map((e) => (e.data as { cause: string }).cause)).toContain("group_moved");
  });

  it("mirrors a project of a personal namespace with GitLab's namespace id and no owner", async () => {
    await env.command("mirror.project.put", {
      id: P.personal,
      name: "Dotfiles",
      path: "dotfiles",
      description: "mine",
      namespace: { id: 7001, kind: "user", path: "alice", name: "Alice" },
      created_at: CREATED,
    });
    expect(await groupRow(7001)).toMatchObject({
      kind: "user",
      owner_id: null,
      full_path: "alice",
      traversal_ids: [7001],
    });
    expect(await projectRow(P.personal)).toMatchObject({
      path_with_namespace: "alice/dotfiles",
      traversal_ids: [7001],
    });
  });

  it("reads a missing config file as {}: no grants; the same missing file again publishes nothing", async () => {
    await agent(178, "staging");
    const first = await env.command("mirror.agent_config.put", { agent_id: 178, yaml: null });
    expect(first.result).toMatchObject({ ci_access: { projects: 0, groups: 0 }, dropped_count: 0 });
    expect((await env.storedAgentConfig(178))?.yaml).toBe("{}");
    const again = await eventsOf(() => env.command("mirror.agent_config.put", { agent_id: 178, yaml: null }));
    expect(again.authz).toEqual([]);
  });

  it("records a refused config instead of failing, once", async () => {
    const bad = "ci_access:\n  groups:\n    - id: 12\n";
    const first = await eventsOf(async () => {
      const reply = await env.command("mirror.agent_config.put", { agent_id: 178, yaml: bad });
      expect(reply.result.refusal?.code).toBe("validation_failed");
    });
    expect(first.authz.map((e) => (e.data as { cause: string }).cause)).toEqual(["config_refused"]);
    const again = await eventsOf(() => env.command("mirror.agent_config.put", { agent_id: 178, yaml: bad }));
    expect(again.authz).toEqual([]);
  });

  it("records a file over 256 KiB as refused with its size, keeps the grants, and publishes it once per size", async () => {
    await agent(179, "large");
    try {
      await putsOfLargeAgent();
    } finally {
      // Gone again, so the sweeps below see only the agents they expect.
      await env.command("mirror.remove", { kind: "agent", id: 179 });
    }
  });

  async function putsOfLargeAgent() {
    await env.command("mirror.agent_config.put", { agent_id: 179, yaml: CONFIG });
    const oversized = (bytes: number | null) =>
      env.command("mirror.agent_config.put", { agent_id: 179, yaml: null, oversized: { bytes } });
    const refusal = {
      code: "payload_too_large",
      message: "agent configuration is 1500003 bytes; the limit is 262144 bytes (256 KiB)",
    };
    const first = await eventsOf(async () => {
      const reply = await oversized(1_500_003);
      expect(reply.result).toMatchObject({ ci_access: { projects: 1, groups: 1 }, refusal });
    });
    expect(first.authz.map((e) => e.data)).toEqual([
      expect.objectContaining({ agent_id: 179, cause: "config_refused", refusal, added: [], removed: [] }),
    ]);
    expect((await env.storedAgentConfig(179))?.yaml).toBe(CONFIG);
    const again = await eventsOf(async () => {
      expect((await oversized(1_500_003)).result.refusal).toBeUndefined();
    });
    expect(again.authz).toEqual([]);
    // A size GitLab did not declare (the body grew past the read limit).
    expect((await oversized(null)).result.refusal?.message).toBe(
      "agent configuration is over 262144 bytes; the limit is 262144 bytes (256 KiB)",
    );
    // A file within 256 KiB that the sync could not send: its request is over NATS max_payload.
    const unsendable = { bytes: 200_000, request: { bytes: 1_200_026, max_payload: 1_048_576 } };
    const putUnsendable = () =>
      env.command("mirror.agent_config.put", { agent_id: 179, yaml: null, oversized: unsendable });
    const encodedRefusal = {
      code: "payload_too_large",
      message:
        "agent configuration is 200000 bytes, within the 262144-byte (256 KiB) limit, but its mirror " +
        "request is 1200026 bytes once JSON-encoded, over the 1048576-byte message limit of the NATS " +
        "server (max_payload)",
    };
    const encoded = await eventsOf(async () => {
      const reply = await putUnsendable();
      expect(reply.result).toMatchObject({ ci_access: { projects: 1, groups: 1 }, refusal: encodedRefusal });
    });
    expect(encoded.authz.map((e) => e.data)).toEqual([
      expect.objectContaining({ cause: "config_refused", refusal: encodedRefusal, added: [], removed: [] }),
    ]);
    const encodedAgain = await eventsOf(async () => {
      expect((await putUnsendable()).result.refusal).toBeUndefined();
    });
    expect(encodedAgain.authz).toEqual([]);
    expect((await env.storedAgentConfig(179))?.yaml).toBe(CONFIG);
    // GitLab's file fixed: applied again, even though it is the one applied before.
    const fixed = await env.command("mirror.agent_config.put", { agent_id: 179, yaml: CONFIG });
    expect(fixed.result).toMatchObject({ ci_access: { projects: 1, groups: 1 } });
    expect(fixed.result.refusal).toBeUndefined();
  }

  it("refuses an oversized file that comes with its yaml, or whose sizes do not say why it did not travel", async () => {
    const withYaml = await env.refusal("mirror.agent_config.put", {
      agent_id: AGENT,
      yaml: CONFIG,
      oversized: { bytes: 300_000 },
    });
    expect(withYaml.code).toBe("validation_failed");
    const small = await env.refusal("mirror.agent_config.put", {
      agent_id: AGENT,
      yaml: null,
      oversized: { bytes: 262_144 },
    });
    expect(small.code).toBe("validation_failed");
    const request = { bytes: 1_200_026, max_payload: 1_048_576 };
    for (const oversized of [
      { bytes: 300_000, request },
      { bytes: null, request },
      { bytes: 200_000, request: { bytes: 1_000_000, max_payload: 1_048_576 } },
    ]) {
      const refused = await env.refusal("mirror.agent_config.put", {
        agent_id: AGENT,
        yaml: null,
        oversized,
      });
      expect(refused.code).toBe("validation_failed");
    }
  });

  it("refuses a project whose group was not mirrored", async () => {
    const refused = await env.refusal("mirror.project.put", {
      id: 8999,
      name: "x",
      path: "x",
      description: null,
      namespace: { id: 123456, kind: "group", path: "nowhere", name: "nowhere" },
      created_at: CREATED,
    });
    expect(refused.code).toBe("not_found");
  });
});

describe("mirror removals", () => {
  it("removing a project deletes its agents and publishes the deletions", async () => {
    await project(8010, "Doomed", { id: G.operators, path: "Operators" });
    await env.command("mirror.agent.put", { id: 190, project_id: 8010, name: "doomed", created_at: CREATED });
    const events = await eventsOf(() => env.command("mirror.remove", { kind: "project", id: 8010 }));
    const agent = events.registry.find((e) => e.type === EVENT_TYPES.agentChanged);
    expect(agent?.data).toMatchObject({ agent: { id: 190, deleted_at: expect.any(String) } });
    const removed = events.registry.find((e) => e.type === EVENT_TYPES.projectChanged);
    expect(removed?.data).toMatchObject({ project: { id: 8010, deleted_at: expect.any(String) } });
    expect(events.authz.map((e) => e.data)).toContainEqual(
      expect.objectContaining({ agent_id: 190, cause: "agent_deleted" }),
    );
    expect(await projectRow(8010)).toBeUndefined();
    expect((await env.command("mirror.remove", { kind: "project", id: 8010 })).result).toEqual({
      removed: false,
    });
  });

  it("removing a group takes its subtree and shrinks the grants of agents that named it", async () => {
    const events = await eventsOf(() => env.command("mirror.remove", { kind: "group", id: G.developers }));
    const deleted = events.registry
      .filter((e) => e.type === EVENT_TYPES.groupChanged || e.type === EVENT_TYPES.projectChanged)
      .map((e) => {
        const data = e.data as { group?: { id: number }; project?: { id: number } };
        return data.group ?? data.project;
      });
    expect(deleted).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: P.feature, deleted_at: expect.any(String) }),
        expect.objectContaining({ id: G.developers, deleted_at: expect.any(String) }),
      ]),
    );
    const change = events.authz.find((e) => (e.data as { agent_id: number }).agent_id === AGENT);
    expect(change?.data).toMatchObject({ cause: "registry_changed", grants: { ci_access: { groups: [] } } });
    expect(await groupRow(G.developers)).toBeUndefined();
  });

  it("a sweep cut-off comes from authz's clock: a later one, or a sync's own `before`, is refused and removes nothing", async () => {
    const mirrored = (await env.command("mirror.status", {})).result;
    const { started_at } = (await env.command("mirror.walk.begin", {})).result;
    expect(Date.parse(started_at)).toBeLessThanOrEqual(Date.now() + 60_000);
    const ahead = new Date(Date.parse(started_at) + 5_000).toISOString();
    expect(await env.refusal("mirror.sweep", { walk_started_at: ahead, root_group_ids: null })).toMatchObject(
      { code: "bad_request", message: expect.stringMatching(/later than authz's clock/) },
    );
    // What a sync from before mirror.walk.begin sends (its host's clock): refused, not guessed at.
    const legacy = { before: ahead, root_group_ids: null } as unknown as AuthzCommandRequest<"mirror.sweep">;
    expect(await env.refusal("mirror.sweep", legacy)).toMatchObject({ code: "validation_failed" });
    expect((await env.command("mirror.status", {})).result).toEqual(mirrored);
  });

  it("mirror.agents.keep stamps a project's live agents without an event, so the sweep keeps them", async () => {
    const { started_at } = (await env.command("mirror.walk.begin", {})).result;
    // The walk put everything under Root-Group but could not read Agent-Project's agents.
    await group(G.root, "Root Group", null, "root-group");
    await group(G.operators, "Operators", G.root);
    await project(P.agentProject, "Agent-Project", { id: G.operators, path: "Operators" });
    let kept: unknown;
    const events = await eventsOf(async () => {
      kept = (await env.command("mirror.agents.keep", { project_id: P.agentProject })).result;
    });
    expect(kept).toEqual({ kept: 2 });
    expect(events.registry).toEqual([]);
    expect(events.authz).toEqual([]);
    const swept = await env.command("mirror.sweep", {
      walk_started_at: started_at,
      root_group_ids: [G.root],
    });
    expect(swept.result).toEqual({ groups: 0, projects: 0, agents: 0 });
    expect((await env.command("mirror.agents.keep", { project_id: 424242 })).result).toEqual({ kept: 0 });
  });

  it("a sweep removes what no put stamped since the reconcile began, under the given roots only", async () => {
    const reconcileStart = (await env.command("mirror.walk.begin", {})).result.started_at;
    // The walk saw everything under Root-Group except agent 178; Staging is outside the roots.
    await group(G.root, "Root Group", null, "root-group");
    await group(G.operators, "Operators", G.root);
    await project(P.agentProject, "Agent-Project", { id: G.operators, path: "Operators" });
    await agent(AGENT, "prod");
    let counts: unknown;
    const events = await eventsOf(async () => {
      counts = (
        await env.command("mirror.sweep", { walk_started_at: reconcileStart, root_group_ids: [G.root] })
      ).result;
    });
    expect(counts).toEqual({ groups: 0, projects: 0, agents: 1 });
    expect(events.registry.find((e) => e.type === EVENT_TYPES.agentChanged)?.data).toMatchObject({
      agent: { id: 178, deleted_at: expect.any(String) },
    });
    expect(await groupRow(G.staging)).toBeDefined();
    const status = await env.command("mirror.status", {});
    expect(status.result).toMatchObject({ groups: 4, projects: 2, agents: 1 });
  });

  it("a sweep of everything mirrored leaves Kasmap's own registry alone", async () => {
    let counts: unknown;
    const events = await eventsOf(async () => {
      const { started_at } = (await env.command("mirror.walk.begin", {})).result;
      counts = (await env.command("mirror.sweep", { walk_started_at: started_at, root_group_ids: null }))
        .result;
    });
    expect(counts).toEqual({ groups: 4, projects: 2, agents: 1 });
    const removedGroups = events.registry
      .filter((e) => e.type === EVENT_TYPES.groupChanged)
      .map((e) => (e.data as { group: { id: number; deleted_at?: string } }).group)
      .filter((g) => g.deleted_at !== undefined)
      .map((g) => g.id);
    expect(removedGroups.sort()).toEqual([7001, G.root, G.operators, G.staging].sort());
    expect(events.authz.map((e) => e.data)).toContainEqual(
      expect.objectContaining({ agent_id: AGENT, cause: "agent_deleted" }),
    );
    expect(
      await env.db.selectFrom("authz.groups").select("path").where("path", "=", "own").execute(),
    ).toEqual([{ path: "own" }]);
    expect((await env.command("mirror.status", {})).result).toMatchObject({
      groups: 0,
      projects: 0,
      agents: 0,
    });
  });
});
