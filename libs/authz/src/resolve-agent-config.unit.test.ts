import type { AgentConfig } from "@kasmap/contracts";
import { describe, expect, it } from "vitest";
import { GROUPS, PROJECTS } from "./group-tree.fixture.ts";
import { type RegistryLookup, resolveAgentConfig } from "./resolve-agent-config.ts";

const PROJECT_INDEX = new Map(
  Object.values(PROJECTS).map((p) => [
    p.path_with_namespace.toLowerCase(),
    { id: p.id, traversal_ids: p.traversal_ids },
  ]),
);
const GROUP_INDEX = new Map(
  Object.values(GROUPS).map((g) => [g.full_path.toLowerCase(), { id: g.id, traversal_ids: g.traversal_ids }]),
);
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
});
