import { describe, expect, it } from "vitest";
import { jobEnvironmentBody, projectGroups, rolesInProject } from "./allowed-agents-bodies.ts";

describe("rolesInProject", () => {
  it.each([
    [0, []],
    [10, ["guest"]],
    [20, ["guest", "reporter"]],
    [30, ["guest", "reporter", "developer"]],
    [40, ["guest", "reporter", "developer", "maintainer"]],
    [50, ["guest", "reporter", "developer", "maintainer", "owner"]],
  ])("level %i → %j", (level, roles) => {
    expect(rolesInProject(level)).toEqual(roles);
  });
});

describe("projectGroups", () => {
  it("lists the project's group first, then its ancestors up to the root", () => {
    expect(projectGroups([1, 2, 3])).toEqual([{ id: 3 }, { id: 2 }, { id: 1 }]);
    expect(projectGroups([7])).toEqual([{ id: 7 }]);
  });

  it("does not reorder its input in place", () => {
    const ids = [1, 2];
    projectGroups(ids);
    expect(ids).toEqual([1, 2]);
  });
});

describe("jobEnvironmentBody", () => {
  it("has no environment key for a job that deploys nowhere", () => {
    expect(jobEnvironmentBody(null)).toEqual({});
    expect(jobEnvironmentBody({ tier: "production", slug: "prod" })).toEqual({
      environment: { tier: "production", slug: "prod" },
    });
  });
});
