import type { AgentPlacement, ProjectPlacement } from "../ci-access-data.ts";

/**
 * A small registry shared by the unit tests:
 *
 *   group-a (1)                      group-b (10)
 *   ├── infra            project 100 └── app      project 110 (agent "b-agent")
 *   ├── sub (2)                   (agent "prod" lives in infra)
 *   │   ├── infra        project 103 (agent "sub")
 *   │   └── deep (3)
 *   │       └── app      project 101
 *   └── tools-group (4)
 *       └── tools        project 102 (agent "tools")
 *
 * and two personal (user) namespaces, each its own root:
 *
 *   alice (20, kind user)            bob (30, kind user)
 *   ├── infra            project 120 └── app      project 130
 *   │                    (agent "alice-agent")
 *   └── app              project 121
 */
export const GROUPS = {
  a: { id: 1, full_path: "group-a", traversal_ids: [1] },
  aSub: { id: 2, full_path: "group-a/sub", traversal_ids: [1, 2] },
  aDeep: { id: 3, full_path: "group-a/sub/deep", traversal_ids: [1, 2, 3] },
  aTools: { id: 4, full_path: "group-a/tools-group", traversal_ids: [1, 4] },
  b: { id: 10, full_path: "group-b", traversal_ids: [10] },
} as const;

export const USER_NAMESPACES = {
  alice: { id: 20, full_path: "alice", traversal_ids: [20], kind: "user" },
  bob: { id: 30, full_path: "bob", traversal_ids: [30], kind: "user" },
} as const;

const project = (id: number, path_with_namespace: string, traversal_ids: number[]): ProjectPlacement => ({
  id,
  path_with_namespace,
  traversal_ids,
});

export const PROJECTS = {
  infra: project(100, "group-a/infra", [1]),
  app: project(101, "group-a/sub/deep/app", [1, 2, 3]),
  tools: project(102, "group-a/tools-group/tools", [1, 4]),
  subInfra: project(103, "group-a/sub/infra", [1, 2]),
  bApp: project(110, "group-b/app", [10]),
  aliceInfra: project(120, "alice/infra", [20]),
  aliceApp: project(121, "alice/app", [20]),
  bobApp: project(130, "bob/app", [30]),
} as const;

export const AGENTS = {
  prod: { id: 1, name: "prod", config_project: PROJECTS.infra },
  sub: { id: 2, name: "sub", config_project: PROJECTS.subInfra },
  bAgent: { id: 3, name: "b-agent", config_project: PROJECTS.bApp },
  tools: { id: 4, name: "tools", config_project: PROJECTS.tools },
  alice: { id: 5, name: "alice-agent", config_project: PROJECTS.aliceInfra },
} as const satisfies Record<string, AgentPlacement>;

export const ALL_AGENTS: readonly AgentPlacement[] = Object.values(AGENTS);
