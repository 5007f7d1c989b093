import { ACCESS_LEVELS } from "@kasmap/contracts";
import { describe, expect, it } from "vitest";
import { leastLevel, mayPerform } from "./role-policy.ts";

const { guest, reporter, developer, maintainer, owner } = ACCESS_LEVELS;

describe("mayPerform", () => {
  it.each([
    ["read_project", 0, false, false],
    ["read_project", guest, false, true],
    ["read_cluster_agent", reporter, false, false],
    ["read_cluster_agent", developer, false, true],
    ["admin_cluster", developer, false, false],
    ["admin_cluster", maintainer, false, true],
    ["admin_project_member", maintainer, false, true],
    ["admin_project_member", developer, false, false],
    ["manage_owners", maintainer, false, false],
    ["manage_owners", owner, false, true],
    ["admin_project_member", owner, false, true],
    ["read_project_audit_events", reporter, false, false],
    ["read_project_audit_events", developer, false, true],
    ["admin_project", developer, false, false],
    ["admin_project", maintainer, false, true],
    ["admin_all_resources", owner, false, false],
    ["admin_all_resources", 0, true, true],
    ["admin_group", 0, true, true],
    ["create_projects", reporter, false, false],
    ["create_projects", developer, false, true],
    ["transfer_projects", developer, false, false],
    ["transfer_projects", maintainer, false, true],
  ] as const)("%s at level %i (admin: %s) → %s", (action, level, isAdmin, allowed) => {
    expect(mayPerform(action, level, isAdmin)).toBe(allowed);
  });

  it("names the least level, none for admin-only actions", () => {
    expect(leastLevel("create_projects")).toBe(developer);
    expect(leastLevel("transfer_projects")).toBe(maintainer);
    expect(leastLevel("admin_all_resources")).toBeUndefined();
  });
});
