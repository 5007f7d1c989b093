import type { AgentGrantSet, CiAccessConfig } from "@kasmap/contracts";

/**
 * The in-memory view the CI rules read. Registry `Project` objects fit `ProjectPlacement` as
 * they are; the service loads these from its tables or the read model.
 */
export interface ProjectPlacement {
  id: number;
  /** `group/sub/project`. Its leading segments are the paths of the groups in `traversal_ids`. */
  path_with_namespace: string;
  /** The project's namespace group's `traversal_ids`: root first, ending with that group. */
  traversal_ids: readonly number[];
}

export interface AgentPlacement {
  id: number;
  name: string;
  /** Where `.gitlab/agents/<name>/config.yaml` lives, as placed now (projects move). */
  config_project: ProjectPlacement;
}

export interface CiProjectAuthorizationRow {
  agent_id: number;
  project_id: number;
  config: CiAccessConfig;
}

export interface CiGroupAuthorizationRow {
  agent_id: number;
  group_id: number;
  config: CiAccessConfig;
}

export interface CiAccessData {
  /** Live agents only (leave deleted ones out); rows naming an agent not listed are ignored. */
  agents: readonly AgentPlacement[];
  project_authorizations: readonly CiProjectAuthorizationRow[];
  group_authorizations: readonly CiGroupAuthorizationRow[];
}

export interface CiAccessOptions {
  /**
   * GitLab's `agent_authorization_include_descendants` (MR 95774), default true: the agent's
   * configuration project need only share the project's root group. When false it must sit in
   * the project's own group or one of its ancestors.
   */
  includeDescendants?: boolean;
}

export const CI_ACCESS_RULES = {
  explicitProject: "explicit_project",
  implicitConfigProject: "implicit_config_project",
  group: "group",
} as const;
export type CiAccessRule = (typeof CI_ACCESS_RULES)[keyof typeof CI_ACCESS_RULES];

/** The CI rows of one agent's grant set, in the shape `CiAccessData` wants. */
export function ciAccessRows(
  agentId: number,
  grants: AgentGrantSet,
): Pick<CiAccessData, "project_authorizations" | "group_authorizations"> {
  return {
    project_authorizations: grants.ci_access.projects.map((row) => ({ agent_id: agentId, ...row })),
    group_authorizations: grants.ci_access.groups.map((row) => ({ agent_id: agentId, ...row })),
  };
}

/** The full path of the group at `traversal_ids[depth]`, read off the project's full path. */
export function groupPathAt(project: ProjectPlacement, depth: number): string {
  return project.path_with_namespace
    .split("/")
    .slice(0, depth + 1)
    .join("/");
}

/** The project's own group: everything before the last `/`. */
export function namespacePath(project: ProjectPlacement): string {
  return groupPathAt(project, project.traversal_ids.length - 1);
}
