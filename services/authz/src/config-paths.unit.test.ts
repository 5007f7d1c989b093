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
    {
      name: "only the first 500 entries of each list (the rest are over-limit anyway)",
      config: {
        ci_access: { projects: Array.from({ length: 20_000 }, (_, i) => ({ id: `g/p${i}` })) },
        user_access: { access_as: { agent: {} }, projects: [{ id: "g/p0" }, { id: "g/u" }] },
      },
      expected: {
        projects: [...Array.from({ length: 500 }, (_, i) => `g/p${i}`), "g/u"],
        groups: [],
      },
    },
  ];
  for (const { name, config, expected } of cases) {
    it(name, () => expect(collectConfigPaths(config)).toEqual(expected));
  }
});
