import type { RoleAction } from "@kasmap/access-rules";
import { ACCESS_LEVELS, type ErrorCode, isKasmapError } from "@kasmap/contracts";
import { describe, expect, it } from "vitest";
import { NO_ACCESS, requireLevel } from "./permissions.ts";

describe("requireLevel", () => {
  const cases: Array<{ level: number; action: RoleAction; outcome: "ok" | ErrorCode }> = [
    { level: NO_ACCESS, action: "read_project", outcome: "not_found" },
    { level: NO_ACCESS, action: "admin_cluster", outcome: "not_found" },
    { level: ACCESS_LEVELS.guest, action: "admin_cluster", outcome: "forbidden" },
    { level: ACCESS_LEVELS.developer, action: "admin_cluster", outcome: "forbidden" },
    { level: ACCESS_LEVELS.maintainer, action: "admin_cluster", outcome: "ok" },
    { level: ACCESS_LEVELS.owner, action: "admin_cluster", outcome: "ok" },
    { level: ACCESS_LEVELS.maintainer, action: "admin_group", outcome: "forbidden" },
  ];
  for (const { level, action, outcome } of cases) {
    it(`level ${level}, action ${action} → ${outcome}`, () => {
      let result: "ok" | ErrorCode = "ok";
      try {
        requireLevel(level, action, "Project");
      } catch (error) {
        if (!isKasmapError(error)) throw error;
        result = error.code;
      }
      expect(result).toBe(outcome);
    });
  }

  it("names the resource in the 404, as GitLab does", () => {
    expect(() => requireLevel(NO_ACCESS, "read_project", "ClusterAgents")).toThrowError("ClusterAgents");
  });
});
