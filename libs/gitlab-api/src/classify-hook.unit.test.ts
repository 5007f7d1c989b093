import { describe, expect, it } from "vitest";
import { classifyHook } from "./classify-hook.ts";

// Payloads shaped as in GitLab's doc/administration/system_hooks.md, webhook_events.md and
// the audit event streaming schema.
const systemHook = { source: "hook", gitlabEvent: "System Hook" } as const;

const projectCreate = {
  created_at: "2012-07-21T07:30:54Z",
  updated_at: "2012-07-21T07:38:22Z",
  event_name: "project_create",
  name: "StoreCloud",
  owner_email: "johnsmith@example.com",
  owner_name: "John Smith",
  owners: [{ name: "John", email: "user1@example.com" }],
  path: "storecloud",
  path_with_namespace: "jsmith/storecloud",
  project_id: 74,
  project_namespace_id: 23,
  project_visibility: "private",
};

const pushToMain = {
  event_name: "push",
  before: "95790bf891e76fee5e1747ab589903a6a1f80f22",
  after: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
  ref: "refs/heads/main",
  checkout_sha: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
  user_id: 4,
  user_name: "John Smith",
  user_email: "john@example.com",
  user_avatar:
    "https://s.gravatar.com/avatar/d4c74594d841139328695756648b6bd6?s=8://s.gravatar.com/avatar/d4c74594d841139328695756648b6bd6?s=80",
  project_id: 15,
  project: {
    name: "Diaspora",
    description: "",
    web_url: "http://example.com/mike/diaspora",
    path_with_namespace: "mike/diaspora",
    default_branch: "main",
  },
  repository: { name: "Diaspora", url: "git@example.com:mike/diaspora.git" },
  commits: [
    {
      id: "c5feabde2d8cd023215af4d2ceeb7a64839fc428",
      message: "Add simple search to projects in public area",
      timestamp: "2013-05-13T18:18:08+00:00",
      url: "https://example.com/mike/diaspora/-/commit/c5feabde2d8cd023215af4d2ceeb7a64839fc428",
      author: { name: "Example User", email: "user@example.com" },
      added: [".gitlab/agents/prod/config.yaml"],
      modified: ["README.md"],
      removed: [],
    },
    {
      id: "b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327",
      message: "fixed readme",
      timestamp: "2012-01-03T23:36:29+02:00",
      url: "http://example.com/mike/diaspora/commit/b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327",
      author: { name: "GitLab dev user", email: "gitlabdev@dv6700.(none)" },
      added: [],
      modified: [".gitlab/agents/dev/config.yaml"],
      removed: [".gitlab/agents/old/config.yaml"],
    },
  ],
  total_commits_count: 2,
};

describe("classifyHook: system hooks", () => {
  it("names the project of every project event", () => {
    for (const event_name of ["project_create", "project_destroy", "project_update"]) {
      expect(classifyHook(systemHook, { ...projectCreate, event_name })).toEqual({ kind: "project", id: 74 });
    }
    const rename = {
      ...projectCreate,
      event_name: "project_rename",
      old_path_with_namespace: "jsmith/overtime",
    };
    expect(classifyHook(systemHook, rename)).toEqual({ kind: "project", id: 74 });
    const transfer = {
      ...projectCreate,
      event_name: "project_transfer",
      old_path_with_namespace: "jsmith/x",
    };
    expect(classifyHook(systemHook, transfer)).toEqual({ kind: "project", id: 74 });
  });

  it("names the group of group events", () => {
    const groupRename = {
      event_name: "group_rename",
      created_at: "2017-10-30T15:09:00Z",
      updated_at: "2017-11-01T10:23:52Z",
      name: "Better Name",
      path: "better-name",
      full_path: "parent-group/better-name",
      group_id: 64,
      old_path: "old-name",
      old_full_path: "parent-group/old-name",
    };
    expect(classifyHook(systemHook, groupRename)).toEqual({ kind: "group", id: 64 });
    expect(classifyHook(systemHook, { ...groupRename, event_name: "group_create" })).toEqual({
      kind: "group",
      id: 64,
    });
    expect(classifyHook(systemHook, { ...groupRename, event_name: "group_destroy" })).toEqual({
      kind: "group",
      id: 64,
    });
  });

  it("lists the agent config files a push to the default branch changed", () => {
    expect(classifyHook(systemHook, pushToMain)).toEqual({
      kind: "agent_config",
      project_id: 15,
      paths: [
        ".gitlab/agents/dev/config.yaml",
        ".gitlab/agents/old/config.yaml",
        ".gitlab/agents/prod/config.yaml",
      ],
    });
  });

  it("ignores a push to another branch or one that touches no agent config", () => {
    expect(classifyHook(systemHook, { ...pushToMain, ref: "refs/heads/feature" })).toMatchObject({
      kind: "ignored",
    });
    const readmeOnly = {
      ...pushToMain,
      commits: [{ ...pushToMain.commits[0], added: [], modified: ["README.md"] }],
      total_commits_count: 1,
    };
    expect(classifyHook(systemHook, readmeOnly)).toMatchObject({ kind: "ignored" });
  });

  it("asks for every config when the push lists only some of its commits", () => {
    expect(classifyHook(systemHook, { ...pushToMain, total_commits_count: 40 })).toEqual({
      kind: "agent_config",
      project_id: 15,
      paths: null,
    });
  });

  it("treats repository_update on the default branch as 'configs may have changed'", () => {
    const update = {
      event_name: "repository_update",
      user_id: 1,
      user_name: "John Smith",
      project_id: 1,
      project: { name: "Example", default_branch: "main", path_with_namespace: "jsmith/example" },
      changes: [{ before: "8205ea8d", after: "4045ea7a", ref: "refs/heads/main" }],
      refs: ["refs/heads/main"],
    };
    expect(classifyHook(systemHook, update)).toEqual({ kind: "agent_config", project_id: 1, paths: null });
    expect(classifyHook(systemHook, { ...update, refs: ["refs/heads/other"] })).toMatchObject({
      kind: "ignored",
    });
  });

  it("ignores events that change nothing Kasmap mirrors", () => {
    const userAdd = {
      event_name: "user_add_to_team",
      access_level: "Maintainer",
      project_id: 74,
      user_id: 41,
    };
    expect(classifyHook(systemHook, userAdd)).toEqual({
      kind: "ignored",
      reason: "event user_add_to_team does not change what Kasmap mirrors",
    });
    expect(classifyHook(systemHook, { event_name: "something_new_in_gitlab_99" })).toMatchObject({
      kind: "ignored",
    });
  });
});

describe("classifyHook: webhooks", () => {
  it("reads a project webhook push by object_kind", () => {
    const { event_name: _omit, ...withoutEventName } = pushToMain;
    expect(
      classifyHook(
        { source: "hook", gitlabEvent: "Push Hook" },
        { ...withoutEventName, object_kind: "push" },
      ),
    ).toMatchObject({
      kind: "agent_config",
      project_id: 15,
    });
  });

  it("reads a group webhook's subgroup event", () => {
    const subgroup = {
      created_at: "2021-01-20T09:40:12Z",
      updated_at: "2021-01-20T09:40:12Z",
      event_name: "subgroup_create",
      name: "subgroup1",
      path: "subgroup1",
      full_path: "group1/subgroup1",
      group_id: 10,
      parent_group_id: 7,
      parent_name: "group1",
      parent_path: "group1",
      parent_full_path: "group1",
    };
    expect(classifyHook({ source: "hook", gitlabEvent: "Subgroup Hook" }, subgroup)).toEqual({
      kind: "group",
      id: 10,
    });
  });

  it("ignores other webhook kinds", () => {
    expect(
      classifyHook({ source: "hook" }, { object_kind: "merge_request", project: { id: 1 } }),
    ).toMatchObject({
      kind: "ignored",
    });
  });
});

describe("classifyHook: audit event streaming", () => {
  const agentCreated = {
    id: "1699",
    author_id: 1,
    author_name: "Administrator",
    entity_id: 12,
    entity_type: "Project",
    entity_path: "flightjs/flight",
    details: { custom_message: "Created cluster agent 'prod' with id 7" },
    ip_address: "127.0.0.1",
    target_id: 7,
    target_type: "Clusters::Agent",
    target_details: "prod",
    created_at: "2024-05-25T06:49:15.213Z",
    event_type: "cluster_agent_created",
  };

  it("names the project whose agents changed", () => {
    for (const event_type of [
      "cluster_agent_created",
      "cluster_agent_deleted",
      "cluster_agent_token_created",
      "cluster_agent_token_revoked",
    ]) {
      expect(classifyHook({ source: "audit" }, { ...agentCreated, event_type })).toEqual({
        kind: "project_agents",
        project_id: 12,
      });
    }
  });

  it("ignores other audit events", () => {
    expect(
      classifyHook({ source: "audit" }, { ...agentCreated, event_type: "repository_git_operation" }),
    ).toMatchObject({
      kind: "ignored",
    });
  });

  it("rejects an agent event without its project", () => {
    const { entity_id: _omit, ...noEntity } = agentCreated;
    expect(classifyHook({ source: "audit" }, noEntity)).toMatchObject({ kind: "invalid" });
  });
});

describe("classifyHook: unreadable payloads", () => {
  it("answers invalid with a reason instead of throwing", () => {
    expect(classifyHook(systemHook, "hello")).toEqual({
      kind: "invalid",
      reason: "payload is string, not an object",
    });
    expect(classifyHook(systemHook, null)).toMatchObject({ kind: "invalid" });
    expect(classifyHook(systemHook, [1, 2])).toEqual({
      kind: "invalid",
      reason: "payload is an array, not an object",
    });
    expect(classifyHook(systemHook, {})).toMatchObject({ kind: "invalid" });
    expect(classifyHook(systemHook, { event_name: "project_create", project_id: "74" })).toMatchObject({
      kind: "invalid",
      reason: expect.stringContaining("project_id"),
    });
  });
});
