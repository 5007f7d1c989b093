import type { AgentGrantSet } from "@kasmap/contracts";
import { describe, expect, it } from "vitest";
import { GROUPS, PROJECTS } from "./testing/group-tree.ts";
import {
  type MembershipFact,
  type PlacementLookup,
  type UserAccessSubject,
  userAccessAllowed,
} from "./user-access-allowed.ts";

const AS_USER = { access_as: { user: {} } } as const;
/** Lists project group-a/sub/deep/app (101) and group group-a/sub (2). */
const GRANTS: AgentGrantSet = {
  ci_access: { projects: [], groups: [] },
  user_access: {
    projects: [{ project_id: 101, config: AS_USER }],
    groups: [{ group_id: 2, config: AS_USER }],
  },
};
const placements: PlacementLookup = {
  groupTraversalIds: (id) => Object.values(GROUPS).find((g) => g.id === id)?.traversal_ids ?? null,
  projectTraversalIds: (id) => Object.values(PROJECTS).find((p) => p.id === id)?.traversal_ids ?? null,
};
const USER: UserAccessSubject = { id: 7, is_admin: false, state: "active" };
const member = (
  source_type: "group" | "project",
  source_id: number,
  access_level: number | null,
  user_id = 7,
) => ({
  user_id,
  source_type,
  source_id,
  access_level,
});

interface Case {
  name: string;
  user?: UserAccessSubject;
  memberships: MembershipFact[];
  project?: { id: number; traversal_ids: readonly number[] };
  expected:
    | { allowed: false }
    | { allowed: true; target_type: string; target_id: number; access_level: number | null };
}

const cases: Case[] = [
  { name: "no membership", memberships: [], expected: { allowed: false } },
  {
    name: "Developer on the listed project",
    memberships: [member("project", 101, 30)],
    expected: { allowed: true, target_type: "project", target_id: 101, access_level: 30 },
  },
  {
    name: "Reporter on the listed project is not enough",
    memberships: [member("project", 101, 20)],
    expected: { allowed: false },
  },
  {
    name: "project access inherited from the root group",
    memberships: [member("group", 1, 40)],
    expected: { allowed: true, target_type: "project", target_id: 101, access_level: 40 },
  },
  {
    name: "membership on the listed group",
    memberships: [member("group", 2, 30)],
    expected: { allowed: true, target_type: "project", target_id: 101, access_level: 30 },
  },
  {
    name: "membership on a subgroup of the listed group does not count for the group",
    memberships: [member("group", 3, 50)],
    project: { id: 103, traversal_ids: [1, 2] },
    expected: { allowed: false },
  },
  {
    name: "membership on an ancestor of the listed group counts (inherited downward)",
    memberships: [member("group", 1, 30)],
    project: { id: 103, traversal_ids: [1, 2] },
    expected: { allowed: true, target_type: "group", target_id: 2, access_level: 30 },
  },
  {
    name: "project membership never reaches a listed group",
    memberships: [member("project", 103, 50)],
    project: { id: 103, traversal_ids: [1, 2] },
    expected: { allowed: false },
  },
  {
    name: "a removed membership does not count",
    memberships: [member("project", 101, null), member("group", 2, null)],
    expected: { allowed: false },
  },
  {
    name: "another user's membership does not count",
    memberships: [member("project", 101, 50, 8)],
    expected: { allowed: false },
  },
  {
    name: "a project outside every listed target",
    memberships: [member("group", 1, 50)],
    project: { id: 102, traversal_ids: [1, 4] },
    expected: { allowed: false },
  },
  {
    name: "an administrator without membership is allowed (GitLab's for_admin)",
    user: { id: 7, is_admin: true, state: "active" },
    memberships: [],
    expected: { allowed: true, target_type: "project", target_id: 101, access_level: null },
  },
  {
    name: "an administrator is still limited to listed targets",
    user: { id: 7, is_admin: true, state: "active" },
    memberships: [],
    project: { id: 102, traversal_ids: [1, 4] },
    expected: { allowed: false },
  },
  {
    name: "a blocked user is denied",
    user: { id: 7, is_admin: true, state: "blocked" },
    memberships: [member("project", 101, 50)],
    expected: { allowed: false },
  },
];

describe("userAccessAllowed", () => {
  it.each(cases)("$name", ({ user, memberships, project, expected }) => {
    const decision = userAccessAllowed(user ?? USER, project ?? null, GRANTS, memberships, placements);
    expect(decision).toMatchObject(expected);
    if (decision.allowed) expect(decision.config).toEqual(AS_USER);
    else expect(decision.reason).toEqual(expect.any(String));
  });
});
