import type { AgentGrantSet } from "@kasmap/contracts";
import { describe, expect, it } from "vitest";
import type { ProjectPlacement } from "./ci-access-data.ts";
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

type Expected = { allowed: false } | ReturnType<typeof allowedVia>;
type Row = [name: string, memberships: MembershipFact[], expected: Expected];

const DENIED = { allowed: false } as const;
/** Allowed through the listed target; `access_level` is the user's there (null: an administrator). */
const allowedVia = (target_type: "project" | "group", target_id: number, access_level: number | null) =>
  ({ allowed: true, target_type, target_id, access_level }) as const;

/** Expects `expected` for `user` (user 7 by default); `project`, when given, keeps only the grants reaching it. */
function expectDecision(
  memberships: MembershipFact[],
  expected: Expected,
  project: ProjectPlacement | null = null,
  user: UserAccessSubject = USER,
): void {
  const decision = userAccessAllowed(user, project, GRANTS, memberships, placements);
  expect(decision).toMatchObject(expected);
  if (decision.allowed) expect(decision.config).toEqual(AS_USER);
  else expect(decision.reason).toEqual(expect.any(String));
}

describe("userAccessAllowed, any listed target", () => {
  it.each<Row>([
    ["no membership", [], DENIED],
    ["Developer on the listed project", [member("project", 101, 30)], allowedVia("project", 101, 30)],
    ["Reporter on the listed project is not enough", [member("project", 101, 20)], DENIED],
    [
      "project access inherited from the root group",
      [member("group", 1, 40)],
      allowedVia("project", 101, 40),
    ],
    ["membership on the listed group", [member("group", 2, 30)], allowedVia("project", 101, 30)],
    ["a removed membership does not count", [member("project", 101, null), member("group", 2, null)], DENIED],
    ["another user's membership does not count", [member("project", 101, 50, 8)], DENIED],
  ])("%s", (_name, memberships, expected) => expectDecision(memberships, expected));
});

describe("userAccessAllowed, project 103 (group-a/sub/infra): only the listed group 2 reaches it", () => {
  it.each<Row>([
    [
      "membership on a subgroup of the listed group does not count for the group",
      [member("group", 3, 50)],
      DENIED,
    ],
    [
      "membership on an ancestor of the listed group counts (inherited downward)",
      [member("group", 1, 30)],
      allowedVia("group", 2, 30),
    ],
    ["project membership never reaches a listed group", [member("project", 103, 50)], DENIED],
  ])("%s", (_name, memberships, expected) => expectDecision(memberships, expected, PROJECTS.subInfra));
});

describe("userAccessAllowed, project 102 (group-a/tools-group/tools): no listed target reaches it", () => {
  it("a project outside every listed target", () => {
    expectDecision([member("group", 1, 50)], DENIED, PROJECTS.tools);
  });

  it("an administrator is still limited to listed targets", () => {
    expectDecision([], DENIED, PROJECTS.tools, { ...USER, is_admin: true });
  });
});

describe("userAccessAllowed, administrators and blocked users", () => {
  it("an administrator without membership is allowed (GitLab's for_admin)", () => {
    expectDecision([], allowedVia("project", 101, null), null, { ...USER, is_admin: true });
  });

  it("a blocked user is denied", () => {
    expectDecision([member("project", 101, 50)], DENIED, null, { ...USER, is_admin: true, state: "blocked" });
  });
});
