import type { CiAccessConfig } from "@kasmap/contracts";
import { describe, expect, it } from "vitest";
import { allowedAgentsForProject } from "./allowed-agents-for-project.ts";
import type { CiAccessData, CiAccessOptions, ProjectPlacement } from "./ci-access-data.ts";
import { AGENTS, ALL_AGENTS, GROUPS, PROJECTS } from "./testing/group-tree.ts";

const NS = (name: string): CiAccessConfig => ({ default_namespace: name });
const projectRow = (agent_id: number, project_id: number, config: CiAccessConfig = {}) => ({
  agent_id,
  project_id,
  config,
});
const groupRow = (agent_id: number, group_id: number, config: CiAccessConfig = {}) => ({
  agent_id,
  group_id,
  config,
});
const data = (rows: Partial<CiAccessData>): CiAccessData => ({
  agents: ALL_AGENTS,
  project_authorizations: [],
  group_authorizations: [],
  ...rows,
});

interface Case {
  name: string;
  project: ProjectPlacement;
  data: CiAccessData;
  options?: CiAccessOptions;
  /** [agent id, rule, via group id, config] in output order. */
  expected: [number, string, number | null, CiAccessConfig][];
}

const cases: Case[] = [
  {
    name: "explicit project row",
    project: PROJECTS.app,
    data: data({ project_authorizations: [projectRow(1, 101, NS("app"))] }),
    expected: [[1, "explicit_project", null, NS("app")]],
  },
  {
    name: "implicit: the agent's own configuration project, config {}",
    project: PROJECTS.infra,
    data: data({}),
    expected: [[1, "implicit_config_project", null, {}]],
  },
  {
    name: "group row for the project's root group covers descendants",
    project: PROJECTS.app,
    data: data({ group_authorizations: [groupRow(1, GROUPS.a.id, NS("root"))] }),
    expected: [[1, "group", 1, NS("root")]],
  },
  {
    name: "innermost group wins per agent, whatever the row order",
    project: PROJECTS.app,
    data: data({
      group_authorizations: [
        groupRow(1, 1, NS("outer")),
        groupRow(1, 3, NS("inner")),
        groupRow(1, 2, NS("mid")),
      ],
    }),
    expected: [[1, "group", 3, NS("inner")]],
  },
  {
    name: "explicit beats implicit",
    project: PROJECTS.infra,
    data: data({ project_authorizations: [projectRow(1, 100, NS("explicit"))] }),
    expected: [[1, "explicit_project", null, NS("explicit")]],
  },
  {
    name: "implicit beats group",
    project: PROJECTS.infra,
    data: data({ group_authorizations: [groupRow(1, 1, NS("group"))] }),
    expected: [[1, "implicit_config_project", null, {}]],
  },
  {
    name: "explicit beats group",
    project: PROJECTS.app,
    data: data({
      project_authorizations: [projectRow(1, 101, NS("p"))],
      group_authorizations: [groupRow(1, 3, NS("g"))],
    }),
    expected: [[1, "explicit_project", null, NS("p")]],
  },
  {
    name: "a sibling group never grants",
    project: PROJECTS.app,
    data: data({ group_authorizations: [groupRow(1, GROUPS.aTools.id)] }),
    expected: [],
  },
  {
    name: "a descendant group of the project's group does not grant",
    project: PROJECTS.subInfra,
    data: data({ group_authorizations: [groupRow(1, GROUPS.aDeep.id)] }),
    expected: [[2, "implicit_config_project", null, {}]],
  },
  {
    name: "flag on: config project in a sibling subtree of the same root grants",
    project: PROJECTS.app,
    data: data({ project_authorizations: [projectRow(4, 101)] }),
    expected: [[4, "explicit_project", null, {}]],
  },
  {
    name: "flag off: config project in a sibling subtree does not grant",
    project: PROJECTS.app,
    data: data({ project_authorizations: [projectRow(4, 101)], group_authorizations: [groupRow(4, 1)] }),
    options: { includeDescendants: false },
    expected: [],
  },
  {
    name: "flag off: config project in an ancestor group grants",
    project: PROJECTS.app,
    data: data({ project_authorizations: [projectRow(2, 101)], group_authorizations: [groupRow(1, 1)] }),
    options: { includeDescendants: false },
    expected: [
      [2, "explicit_project", null, {}],
      [1, "group", 1, {}],
    ],
  },
  {
    name: "a row whose config project now sits under another root is ignored (moved)",
    project: PROJECTS.app,
    data: data({ project_authorizations: [projectRow(3, 101)], group_authorizations: [groupRow(3, 1)] }),
    expected: [],
  },
  {
    name: "rows for other projects, and for agents not listed (deleted), are ignored",
    project: PROJECTS.app,
    data: data({
      project_authorizations: [projectRow(1, 102), projectRow(99, 101)],
      group_authorizations: [groupRow(99, 1)],
    }),
    expected: [],
  },
  {
    name: "order: explicit, implicit, group; by agent id within each",
    project: PROJECTS.subInfra,
    data: data({
      project_authorizations: [projectRow(4, 103), projectRow(1, 103)],
      group_authorizations: [groupRow(4, 2), groupRow(2, 1)],
    }),
    expected: [
      [1, "explicit_project", null, {}],
      [4, "explicit_project", null, {}],
      [2, "implicit_config_project", null, {}],
    ],
  },
  // Personal namespaces: each is the root of its own projects (traversal_ids = [namespace id]).
  {
    name: "personal: the agent's own project uses it implicitly",
    project: PROJECTS.aliceInfra,
    data: data({}),
    expected: [[5, "implicit_config_project", null, {}]],
  },
  {
    name: "personal: another project of the same user listed explicitly uses it (same root)",
    project: PROJECTS.aliceApp,
    data: data({ project_authorizations: [projectRow(5, 121, NS("alice"))] }),
    expected: [[5, "explicit_project", null, NS("alice")]],
  },
  {
    name: "personal: without a row, the user's other project does not get the agent",
    project: PROJECTS.aliceApp,
    data: data({}),
    expected: [],
  },
  {
    name: "personal: rows for another user's project or a group project never count (other root)",
    project: PROJECTS.bobApp,
    data: data({ project_authorizations: [projectRow(5, 130), projectRow(1, 130)] }),
    expected: [],
  },
  {
    name: "personal: a personal agent's row for a group project never counts",
    project: PROJECTS.infra,
    data: data({ project_authorizations: [projectRow(5, 100)] }),
    expected: [[1, "implicit_config_project", null, {}]],
  },
  {
    name: "personal, flag off: the namespace itself is the project's only ancestor",
    project: PROJECTS.aliceApp,
    data: data({ project_authorizations: [projectRow(5, 121)] }),
    options: { includeDescendants: false },
    expected: [[5, "explicit_project", null, {}]],
  },
];

describe("allowedAgentsForProject", () => {
  it.each(cases)("$name", ({ project, data, options, expected }) => {
    const result = allowedAgentsForProject(project, data, options);
    expect(result.map((a) => [a.agent.id, a.rule, a.via_group_id, a.config])).toEqual(expected);
  });

  it("returns the agent placement it was given", () => {
    const [first] = allowedAgentsForProject(PROJECTS.infra, data({}));
    expect(first?.agent).toBe(AGENTS.prod);
  });
});
