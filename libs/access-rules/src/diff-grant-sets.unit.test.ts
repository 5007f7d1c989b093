import { type AgentGrantSet, canonicalJson, EMPTY_GRANT_SET } from "@kasmap/contracts";
import { describe, expect, it } from "vitest";
import { diffGrantSets } from "./diff-grant-sets.ts";

const set = (overrides: {
  ciProjects?: AgentGrantSet["ci_access"]["projects"];
  ciGroups?: AgentGrantSet["ci_access"]["groups"];
  userGroups?: AgentGrantSet["user_access"]["groups"];
}): AgentGrantSet => ({
  ci_access: { projects: overrides.ciProjects ?? [], groups: overrides.ciGroups ?? [] },
  user_access: { projects: [], groups: overrides.userGroups ?? [] },
});
const ci = (target_type: "project" | "group", target_id: number) => ({
  access: "ci_access",
  target_type,
  target_id,
});

describe("diffGrantSets", () => {
  const cases: [
    string,
    AgentGrantSet,
    AgentGrantSet,
    { added: unknown[]; removed: unknown[]; changed: unknown[] },
  ][] = [
    ["no change", EMPTY_GRANT_SET, EMPTY_GRANT_SET, { added: [], removed: [], changed: [] }],
    [
      "a new project and a dropped group",
      set({ ciGroups: [{ group_id: 5, config: {} }] }),
      set({ ciProjects: [{ project_id: 7, config: {} }] }),
      { added: [ci("project", 7)], removed: [ci("group", 5)], changed: [] },
    ],
    [
      "a changed config is `changed`, not removed + added",
      set({ ciProjects: [{ project_id: 7, config: { environments: ["a", "b"] } }] }),
      set({ ciProjects: [{ project_id: 7, config: { environments: ["a"] } }] }),
      { added: [], removed: [], changed: [ci("project", 7)] },
    ],
    [
      "key order inside a config is not a change",
      set({
        ciProjects: [{ project_id: 7, config: { default_namespace: "n", protected_branches_only: true } }],
      }),
      set({
        ciProjects: [{ project_id: 7, config: { protected_branches_only: true, default_namespace: "n" } }],
      }),
      { added: [], removed: [], changed: [] },
    ],
    [
      "the same id under ci_access and user_access are different grants; output is sorted",
      set({ ciGroups: [{ group_id: 3, config: {} }] }),
      set({
        ciProjects: [
          { project_id: 9, config: {} },
          { project_id: 2, config: {} },
        ],
        ciGroups: [{ group_id: 3, config: {} }],
        userGroups: [{ group_id: 3, config: { access_as: { agent: {} } } }],
      }),
      {
        added: [
          ci("project", 2),
          ci("project", 9),
          { access: "user_access", target_type: "group", target_id: 3 },
        ],
        removed: [],
        changed: [],
      },
    ],
  ];
  it.each(cases)("%s", (_name, before, after, expected) => {
    expect(diffGrantSets(before, after)).toEqual(expected);
  });

  it("canonicalJson sorts keys at every level", () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: null } })).toBe('{"a":{"c":null,"d":[2,1]},"b":1}');
  });
});
