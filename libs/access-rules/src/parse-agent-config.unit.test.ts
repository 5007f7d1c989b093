import { describe, expect, it } from "vitest";
import { parseAgentConfig } from "./parse-agent-config.ts";

const yaml = (lines: string[]) => `${lines.join("\n")}\n`;

describe("parseAgentConfig: valid files", () => {
  const cases: [string, string, unknown][] = [
    ["an empty file authorizes nothing", "", {}],
    ["a comment-only file", "# nothing yet\n", {}],
    [
      "agentk keys are accepted and ignored",
      yaml([
        "gitops:",
        "  manifest_projects:",
        "    - id: g/manifests",
        "observability:",
        "  logging:",
        "    level: debug",
      ]),
      {},
    ],
    [
      "the documented example",
      yaml([
        "ci_access:",
        "  projects:",
        "    - id: group1/group1-1/project1",
        "      default_namespace: my-ns",
        "      access_as: { agent: {} }",
        "      environments: [staging, 'review/*']",
        "      protected_branches_only: true",
        "  groups:",
        "    - id: group2/group2-1",
        "user_access:",
        "  access_as: { agent: {} }",
        "  projects: [ { id: group-1/project-1 } ]",
        "  groups:   [ { id: group-2 } ]",
      ]),
      {
        ci_access: {
          projects: [
            {
              id: "group1/group1-1/project1",
              default_namespace: "my-ns",
              access_as: { agent: {} },
              environments: ["staging", "review/*"],
              protected_branches_only: true,
            },
          ],
          groups: [{ id: "group2/group2-1" }],
        },
        user_access: {
          access_as: { agent: {} },
          projects: [{ id: "group-1/project-1" }],
          groups: [{ id: "group-2" }],
        },
      },
    ],
    ["a section left empty", yaml(["ci_access:", "  projects:"]), { ci_access: {} }],
  ];
  it.each(cases)("%s", (_name, text, config) => {
    expect(parseAgentConfig(text)).toEqual({ ok: true, config, warnings: [] });
  });
});

describe("parseAgentConfig: warnings for ignored keys inside access sections", () => {
  it("names the misspelled key, its line, and strips it", () => {
    const text = yaml([
      "ci_access:",
      "  projects:",
      "    - id: g/p",
      "      enviroments: [prod]",
      "  instance: {}",
    ]);
    expect(parseAgentConfig(text)).toEqual({
      ok: true,
      config: { ci_access: { projects: [{ id: "g/p" }] } },
      warnings: [
        {
          line: 4,
          path: "ci_access.projects[0].enviroments",
          message: 'unknown key "enviroments" is ignored',
        },
        {
          line: 5,
          path: "ci_access.instance",
          message: "organization-wide ci_access (instance) is not supported by Kasmap and is ignored",
        },
      ],
    });
  });
  it("warns about unknown keys in user_access entries", () => {
    const text = yaml([
      "user_access:",
      "  access_as: { user: {} }",
      "  groups:",
      "    - id: g",
      "      role: x",
    ]);
    const result = parseAgentConfig(text);
    expect(result.ok && result.warnings).toEqual([
      { line: 5, path: "user_access.groups[0].role", message: 'unknown key "role" is ignored' },
    ]);
  });
});

describe("parseAgentConfig: errors carry the line", () => {
  const cases: [string, string, { line: number | null; path: string; message: RegExp }][] = [
    [
      "malformed YAML",
      yaml(["ci_access:", "  projects:", "    - id: g/p", "   bad: [", ""]),
      { line: 4, path: "", message: /column/ },
    ],
    [
      "a duplicate key",
      yaml(["ci_access:", "  projects: []", "  projects: []"]),
      { line: 3, path: "", message: /unique/ },
    ],
    [
      "two access_as modes",
      yaml([
        "ci_access:",
        "  projects:",
        "    - id: g/p",
        "      access_as:",
        "        agent: {}",
        "        ci_job: {}",
      ]),
      {
        line: 4,
        path: "ci_access.projects[0].access_as",
        message: /^must set exactly one of agent, impersonate, ci_job, ci_user; found agent, ci_job$/,
      },
    ],
    [
      "an unknown access mode",
      yaml(["ci_access:", "  groups:", "    - id: g", "      access_as:", "        root: {}"]),
      { line: 5, path: "ci_access.groups[0].access_as.root", message: /unknown access mode "root"/ },
    ],
    [
      "impersonate without username",
      yaml([
        "ci_access:",
        "  groups:",
        "    - id: g",
        "      access_as:",
        "        impersonate:",
        "          uid: '1'",
      ]),
      { line: 5, path: "ci_access.groups[0].access_as.impersonate.username", message: /^is required$/ },
    ],
    [
      "an entry without id",
      yaml(["ci_access:", "  projects:", "    - id: g/p", "    - default_namespace: ns"]),
      { line: 4, path: "ci_access.projects[1].id", message: /^is required$/ },
    ],
    [
      "user_access without access_as",
      yaml(["gitops: {}", "user_access:", "  projects: [{ id: g/p }]"]),
      { line: 2, path: "user_access.access_as", message: /^is required; set exactly one of agent, user$/ },
    ],
    [
      "a wrongly typed flag",
      yaml(["ci_access:", "  projects:", "    - id: g/p", "      protected_branches_only: maybe"]),
      { line: 4, path: "ci_access.projects[0].protected_branches_only", message: /boolean/ },
    ],
    ["a list at the top", yaml(["- ci_access"]), { line: 1, path: "", message: /mapping/ }],
  ];
  it.each(cases)("%s", (_name, text, expected) => {
    const result = parseAgentConfig(text);
    expect(result.ok).toBe(false);
    const [first] = result.ok ? [] : result.errors;
    expect(first).toEqual({
      line: expected.line,
      path: expected.path,
      message: expect.stringMatching(expected.message),
    });
  });
});

describe("parseAgentConfig: hostile files", () => {
  it("refuses a billion-laughs alias bomb as a config error instead of expanding or throwing", () => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let level = 0; level < 9; level++) {
      const previous = level === 0 ? "a" : `b${level - 1}`;
      lines.push(`b${level}: &b${level} [${Array(10).fill(`*${previous}`).join(",")}]`);
    }
    const result = parseAgentConfig(yaml([...lines, "ci_access:", "  projects:", "    - id: g/p"]));
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.errors).toEqual([
      { line: null, path: "", message: expect.stringMatching(/alias/i) },
    ]);
  });

  it("still accepts a few aliases, as GitLab's YAML does", () => {
    const result = parseAgentConfig(
      yaml([
        "ci_access:",
        "  projects:",
        "    - id: g/a",
        "      environments: &envs [staging, production]",
        "    - id: g/b",
        "      environments: *envs",
      ]),
    );
    expect(result.ok && result.config.ci_access?.projects?.[1]?.environments).toEqual([
      "staging",
      "production",
    ]);
  });
});
