import type { AgentConfig } from "@kasmap/contracts";
import { describe, expect, it } from "vitest";
import { type RegistryLookup, type ResolvedNamespace, resolveAgentConfig } from "./resolve-agent-config.ts";
import { GROUPS, PROJECTS, USER_NAMESPACES } from "./testing/group-tree.ts";

const PROJECT_INDEX = new Map(
  Object.values(PROJECTS).map((p) => [
    p.path_with_namespace.toLowerCase(),
    { id: p.id, traversal_ids: p.traversal_ids },
  ]),
);
// Groups and personal namespaces share one path space; a lookup may answer either (as authz's
// does, with the kind), and resolution must refuse the personal ones as groups.
const GROUP_INDEX = new Map<string, ResolvedNamespace>([
  ...Object.values(GROUPS).map(
    (g) => [g.full_path.toLowerCase(), { id: g.id, traversal_ids: g.traversal_ids }] as const,
  ),
  ...Object.values(USER_NAMESPACES).map(
    (n) => [n.full_path, { id: n.id, traversal_ids: n.traversal_ids, kind: n.kind }] as const,
  ),
]);
const calls: string[] = [];
const lookup: RegistryLookup = {
  projectByFullPath: (path) => {
    calls.push(path);
    return PROJECT_INDEX.get(path) ?? null;
  },
  groupByFullPath: (path) => {
    calls.push(path);
    return GROUP_INDEX.get(path) ?? null;
  },
};
const agentProject = PROJECTS.infra;

describe("resolveAgentConfig", () => {
  it("stores each entry minus id as config, and user_access rows as { access_as }", () => {
    const config: AgentConfig = {
      ci_access: {
        projects: [{ id: "group-a/sub/deep/app", default_namespace: "ns", environments: ["prod"] }],
        groups: [{ id: "group-a/sub", access_as: { ci_job: {} } }],
      },
      user_access: {
        access_as: { user: {} },
        projects: [{ id: "group-a/infra" }],
        groups: [{ id: "group-a" }],
      },
    };
    expect(resolveAgentConfig(config, agentProject, lookup)).toEqual({
      grants: {
        ci_access: {
          projects: [{ project_id: 101, config: { default_namespace: "ns", environments: ["prod"] } }],
          groups: [{ group_id: 2, config: { access_as: { ci_job: {} } } }],
        },
        user_access: {
          projects: [{ project_id: 100, config: { access_as: { user: {} } } }],
          groups: [{ group_id: 1, config: { access_as: { user: {} } } }],
        },
      },
      dropped: [],
    });
  });

  it("matches paths case-insensitively and asks the lookup in lower case", () => {
    calls.length = 0;
    const result = resolveAgentConfig(
      { ci_access: { projects: [{ id: "Group-A/Sub/DEEP/App" }] } },
      agentProject,
      lookup,
    );
    expect(result.grants.ci_access.projects).toEqual([{ project_id: 101, config: {} }]);
    expect(calls).toEqual(["group-a/sub/deep/app"]);
  });

  it("drops unknown paths and paths outside the agent project's root group, saying why", () => {
    const config: AgentConfig = {
      ci_access: {
        projects: [{ id: "group-b/app" }, { id: "group-a/nope" }, { id: "group-a/tools-group/tools" }],
        groups: [{ id: "group-b" }, { id: "group-a/tools-group" }],
      },
      user_access: { access_as: { agent: {} }, groups: [{ id: "group-c" }] },
    };
    const result = resolveAgentConfig(config, agentProject, lookup);
    expect(result.grants.ci_access.projects).toEqual([{ project_id: 102, config: {} }]);
    expect(result.grants.ci_access.groups).toEqual([{ group_id: 4, config: {} }]);
    expect(result.dropped).toEqual([
      { access: "ci_access", target_type: "project", path: "group-b/app", reason: "outside-root-group" },
      { access: "ci_access", target_type: "project", path: "group-a/nope", reason: "not-found" },
      { access: "ci_access", target_type: "group", path: "group-b", reason: "outside-root-group" },
      { access: "user_access", target_type: "group", path: "group-c", reason: "not-found" },
    ]);
  });

  it("counts only the first 500 entries of a list: the 501st is dropped over-limit", () => {
    const filler = Array.from({ length: 500 }, (_, i) => ({ id: `group-a/missing-${i}` }));
    const config: AgentConfig = { ci_access: { projects: [...filler, { id: "group-a/infra" }] } };
    const result = resolveAgentConfig(config, agentProject, lookup);
    expect(result.grants.ci_access.projects).toEqual([]);
    expect(result.dropped).toHaveLength(501);
    expect(result.dropped.at(-1)).toEqual({
      access: "ci_access",
      target_type: "project",
      path: "group-a/infra",
      reason: "over-limit",
    });
    expect(result.dropped.filter((d) => d.reason === "not-found")).toHaveLength(500);
  });

  it("the limit is per list: 500 projects do not crowd out groups", () => {
    const filler = Array.from({ length: 500 }, () => ({ id: "group-a/infra" }));
    const config: AgentConfig = { ci_access: { projects: filler, groups: [{ id: "group-a" }] } };
    const result = resolveAgentConfig(config, agentProject, lookup);
    expect(result.grants.ci_access.projects).toEqual([{ project_id: 100, config: {} }]);
    expect(result.grants.ci_access.groups).toEqual([{ group_id: 1, config: {} }]);
    expect(result.dropped).toEqual([]);
  });

  it("a path listed twice keeps its first position and its last config (GitLab's index_by)", () => {
    const config: AgentConfig = {
      ci_access: {
        projects: [
          { id: "group-a/infra", default_namespace: "first" },
          { id: "group-a/tools-group/tools" },
          { id: "GROUP-A/INFRA", default_namespace: "last" },
        ],
      },
    };
    expect(resolveAgentConfig(config, agentProject, lookup).grants.ci_access.projects).toEqual([
      { project_id: 100, config: { default_namespace: "last" } },
      { project_id: 102, config: {} },
    ]);
  });

  it("an empty config grants nothing", () => {
    expect(resolveAgentConfig({}, agentProject, lookup)).toEqual({
      grants: { ci_access: { projects: [], groups: [] }, user_access: { projects: [], groups: [] } },
      dropped: [],
    });
  });

  describe("personal (user) namespaces", () => {
    const aliceAgentProject = PROJECTS.aliceInfra;
    const cases: Array<{
      name: string;
      agentProject: { traversal_ids: readonly number[] };
      config: AgentConfig;
      projects: number[];
      groups: number[];
      dropped: Array<{ path: string; target_type: "project" | "group"; reason: string }>;
    }> = [
      {
        name: "a personal project names another project of the same user: kept (same root)",
        agentProject: aliceAgentProject,
        config: { ci_access: { projects: [{ id: "alice/app" }, { id: "Alice/Infra" }] } },
        projects: [121, 120],
        groups: [],
        dropped: [],
      },
      {
        name: "a group entry naming the user namespace is not-found (groups only), even its own",
        agentProject: aliceAgentProject,
        config: { ci_access: { groups: [{ id: "alice" }, { id: "bob" }] } },
        projects: [],
        groups: [],
        dropped: [
          { path: "alice", target_type: "group", reason: "not-found" },
          { path: "bob", target_type: "group", reason: "not-found" },
        ],
      },
      {
        name: "a personal agent naming group projects or another user's project: outside-root-group",
        agentProject: aliceAgentProject,
        config: { ci_access: { projects: [{ id: "group-a/infra" }, { id: "bob/app" }] } },
        projects: [],
        groups: [],
        dropped: [
          { path: "group-a/infra", target_type: "project", reason: "outside-root-group" },
          { path: "bob/app", target_type: "project", reason: "outside-root-group" },
        ],
      },
      {
        name: "a group agent naming a personal project: outside-root-group",
        agentProject: PROJECTS.infra,
        config: { ci_access: { projects: [{ id: "alice/app" }] } },
        projects: [],
        groups: [],
        dropped: [{ path: "alice/app", target_type: "project", reason: "outside-root-group" }],
      },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const result = resolveAgentConfig(c.config, c.agentProject, lookup);
        expect(result.grants.ci_access.projects.map((p) => p.project_id)).toEqual(c.projects);
        expect(result.grants.ci_access.groups.map((g) => g.group_id)).toEqual(c.groups);
        expect(result.dropped).toEqual(c.dropped.map((d) => ({ access: "ci_access", ...d })));
      });
    }

    it("user_access groups cannot name a personal namespace either", () => {
      const config: AgentConfig = { user_access: { access_as: { agent: {} }, groups: [{ id: "alice" }] } };
      expect(resolveAgentConfig(config, aliceAgentProject, lookup).dropped).toEqual([
        { access: "user_access", target_type: "group", path: "alice", reason: "not-found" },
      ]);
    });
  });
});
