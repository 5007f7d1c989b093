import { describe, expect, it } from "vitest";
import { AgentConfigSchema } from "./agent-config.ts";

describe("AgentConfigSchema", () => {
  const valid: [string, unknown, unknown][] = [
    ["empty config", {}, {}],
    ["null sections count as absent", { ci_access: null, user_access: null }, {}],
    ["null lists count as absent", { ci_access: { projects: null } }, { ci_access: {} }],
    [
      "unknown top-level keys of agentk's config are stripped",
      { gitops: { manifest_projects: [] }, observability: {}, remote_development: { enabled: true } },
      {},
    ],
    [
      "full ci_access entry",
      {
        ci_access: {
          projects: [
            {
              id: "g/p",
              default_namespace: "ns",
              access_as: { impersonate: { username: "u", groups: ["a"], extra: [{ key: "k", val: ["v"] }] } },
              environments: ["staging", "review/*"],
              protected_branches_only: true,
            },
          ],
          groups: [{ id: "g", access_as: { ci_user: {} } }],
        },
      },
      null,
    ],
    [
      "unknown keys inside entries are stripped",
      { ci_access: { groups: [{ id: "g", enviroments: ["x"] }] } },
      { ci_access: { groups: [{ id: "g" }] } },
    ],
    [
      "user_access",
      { user_access: { access_as: { user: {} }, projects: [{ id: "g/p" }], groups: [{ id: "g" }] } },
      null,
    ],
  ];
  it.each(valid)("accepts %s", (_name, input, expected) => {
    const parsed = AgentConfigSchema.safeParse(input);
    expect(parsed.success).toBe(true);
    expect(parsed.data).toEqual(expected ?? input);
  });

  const invalid: [string, unknown][] = [
    [
      "two access_as modes",
      { ci_access: { projects: [{ id: "g/p", access_as: { agent: {}, ci_job: {} } }] } },
    ],
    ["unknown access_as mode", { ci_access: { projects: [{ id: "g/p", access_as: { root: {} } }] } }],
    [
      "settings inside an access mode",
      { ci_access: { projects: [{ id: "g/p", access_as: { agent: { x: 1 } } }] } },
    ],
    [
      "impersonate without username",
      { ci_access: { groups: [{ id: "g", access_as: { impersonate: {} } }] } },
    ],
    ["entry without id", { ci_access: { projects: [{ default_namespace: "ns" }] } }],
    ["numeric id", { ci_access: { projects: [{ id: 42 }] } }],
    ["empty id", { ci_access: { projects: [{ id: "" }] } }],
    ["empty environment name", { ci_access: { projects: [{ id: "g/p", environments: [""] }] } }],
    [
      "protected_branches_only as string",
      { ci_access: { projects: [{ id: "g/p", protected_branches_only: "yes" }] } },
    ],
    ["user_access without access_as", { user_access: { projects: [{ id: "g/p" }] } }],
    ["user_access with a ci_access mode", { user_access: { access_as: { ci_job: {} } } }],
    ["projects not a list", { ci_access: { projects: { id: "g/p" } } }],
  ];
  it.each(invalid)("rejects %s", (_name, input) => {
    expect(AgentConfigSchema.safeParse(input).success).toBe(false);
  });
});
