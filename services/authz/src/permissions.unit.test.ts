import { ACCESS_LEVELS, type AccessLevel, type ErrorCode, isKasmapError } from "@kasmap/contracts";
import { describe, expect, it } from "vitest";
import { NO_ACCESS, requireLevel } from "./permissions.ts";

describe("requireLevel", () => {
  const cases: Array<{ level: number; required: AccessLevel; outcome: "ok" | ErrorCode }> = [
    { level: NO_ACCESS, required: ACCESS_LEVELS.guest, outcome: "not_found" },
    { level: NO_ACCESS, required: ACCESS_LEVELS.maintainer, outcome: "not_found" },
    { level: ACCESS_LEVELS.guest, required: ACCESS_LEVELS.maintainer, outcome: "forbidden" },
    { level: ACCESS_LEVELS.developer, required: ACCESS_LEVELS.maintainer, outcome: "forbidden" },
    { level: ACCESS_LEVELS.maintainer, required: ACCESS_LEVELS.maintainer, outcome: "ok" },
    { level: ACCESS_LEVELS.owner, required: ACCESS_LEVELS.maintainer, outcome: "ok" },
    { level: ACCESS_LEVELS.maintainer, required: ACCESS_LEVELS.owner, outcome: "forbidden" },
  ];
  for (const { level, required, outcome } of cases) {
    it(`level ${level}, required ${required} → ${outcome}`, () => {
      let result: "ok" | ErrorCode = "ok";
      try {
        requireLevel(level, required, "Project");
      } catch (error) {
        if (!isKasmapError(error)) throw error;
        result = error.code;
      }
      expect(result).toBe(outcome);
    });
  }

  it("names the resource in the 404, as GitLab does", () => {
    expect(() => requireLevel(NO_ACCESS, ACCESS_LEVELS.guest, "ClusterAgents")).toThrowError("ClusterAgents");
  });
});
