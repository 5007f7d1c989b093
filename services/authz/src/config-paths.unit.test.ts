import type { AgentConfig } from "@kasmap/contracts";
import { describe, expect, it } from "vitest";
import { collectConfigPaths } from "./config-paths.ts";

describe("collectConfigPaths", () => {
  const cases: Array<{
    name: string;
    config: AgentConfig;
    expected: { projects: string[]; groups: string[] };
  }> = [
    { name: "empty config", config: {}, expected: { projects: [], groups: [] } },
    {
      name: "ci and user access, lower-cased and deduplicated",
      config: {
        ci_access: { projects: [{ id: "G/P" }, { id: "g/p" }], groups: [{ id: "G/Sub" }] },
        user_access: { access_as: { agent: {} }, projects: [{ id: "g/q" }], groups: [{ id: "g/sub" }] },
      },
      expected: { projects: ["g/p", "g/q"], groups: ["g/sub"] },
    },
  ];
  for (const { name, config, expected } of cases) {
    it(name, () => expect(collectConfigPaths(config)).toEqual(expected));
  }
});
