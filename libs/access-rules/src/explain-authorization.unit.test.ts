import { describe, expect, it } from "vitest";
import type { CiAccessData } from "./ci-access-data.ts";
import { explainAuthorization } from "./explain-authorization.ts";
import { AGENTS, ALL_AGENTS, PROJECTS } from "./testing/group-tree.ts";

const data = (rows: Partial<CiAccessData>): CiAccessData => ({
  agents: ALL_AGENTS,
  project_authorizations: [],
  group_authorizations: [],
  ...rows,
});

describe("explainAuthorization: allowed", () => {
  it("names the explicit rule and its config", () => {
    const rows = data({
      project_authorizations: [{ agent_id: 1, project_id: 101, config: { default_namespace: "n" } }],
    });
    expect(explainAuthorization(PROJECTS.app, AGENTS.prod, rows)).toEqual({
      allowed: true,
      rule: "explicit_project",
      config: { default_namespace: "n" },
    });
  });
  it("names the implicit rule", () => {
    expect(explainAuthorization(PROJECTS.infra, AGENTS.prod, data({}))).toEqual({
      allowed: true,
      rule: "implicit_config_project",
      config: {},
    });
  });
  it("names the innermost granting group", () => {
    const rows = data({
      group_authorizations: [
        { agent_id: 1, group_id: 1, config: {} },
        { agent_id: 1, group_id: 2, config: { default_namespace: "sub" } },
      ],
    });
    expect(explainAuthorization(PROJECTS.app, AGENTS.prod, rows)).toEqual({
      allowed: true,
      rule: "group",
      via_group_id: 2,
      config: { default_namespace: "sub" },
    });
  });
  it("is not swayed by other agents' rows", () => {
    const rows = data({ project_authorizations: [{ agent_id: 2, project_id: 101, config: {} }] });
    expect(explainAuthorization(PROJECTS.app, AGENTS.prod, rows).allowed).toBe(false);
  });
});

describe("explainAuthorization: denied, with reasons", () => {
  const cases: [string, Parameters<typeof explainAuthorization>, string[]][] = [
    [
      "not listed at all",
      [PROJECTS.app, AGENTS.prod, data({ group_authorizations: [{ agent_id: 1, group_id: 4, config: {} }] })],
      [
        "agent prod (configuration project group-a/infra) lists neither project group-a/sub/deep/app nor any of its groups (group-a, group-a/sub, group-a/sub/deep) in ci_access",
      ],
    ],
    [
      "configuration project under another root group",
      [
        PROJECTS.app,
        AGENTS.bAgent,
        data({ project_authorizations: [{ agent_id: 3, project_id: 101, config: {} }] }),
      ],
      [
        "agent b-agent (configuration project group-b/app) lists project group-a/sub/deep/app, but the agent's configuration project group-b/app is under root group group-b; project group-a/sub/deep/app is under root group group-a",
      ],
    ],
    [
      "flag off, configuration project in a sibling subtree",
      [
        PROJECTS.app,
        AGENTS.tools,
        data({ group_authorizations: [{ agent_id: 4, group_id: 1, config: {} }] }),
        { includeDescendants: false },
      ],
      [
        "agent tools (configuration project group-a/tools-group/tools) lists group group-a, but the agent's configuration project group-a/tools-group/tools is in group group-a/tools-group, which is not project group-a/sub/deep/app's group or an ancestor of it (agent_authorization_include_descendants is off)",
      ],
    ],
    [
      "authorized, but the job's environment is not allowed",
      [
        PROJECTS.app,
        AGENTS.prod,
        data({
          project_authorizations: [{ agent_id: 1, project_id: 101, config: { environments: ["review/*"] } }],
        }),
        { job: { environment: { name: "x-review/1" }, ref_protected: true } },
      ],
      ['environment "x-review/1" matches none of: review/*'],
    ],
  ];
  it.each(cases)("%s", (_name, args, reasons) => {
    expect(explainAuthorization(...args)).toEqual({ allowed: false, reasons });
  });

  it("with a job that passes the filter, stays allowed", () => {
    const result = explainAuthorization(PROJECTS.infra, AGENTS.prod, data({}), {
      job: { environment: null, ref_protected: false },
    });
    expect(result).toEqual({ allowed: true, rule: "implicit_config_project", config: {} });
  });
});
