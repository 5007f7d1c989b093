import { ACCESS_LEVELS, type AccessLevelName, type ProjectAllowedAgent } from "@kasmap/contracts";
import type { AllowedAgentRow } from "../read-model/allowed-agents-query.ts";
import { projectIdentityBody } from "./gitlab-bodies.ts";

/**
 * GitLab's `roles_in_project`: the name of every role at or below the user's access level, in
 * rising order (`Gitlab::Access.sym_options_with_owner.select { level <= user_level }`), so a
 * Developer is `["guest", "reporter", "developer"]` and a non-member `[]`. GitLab's `planner`
 * role (15) is absent: Kasmap's registry has no such level.
 */
export function rolesInProject(accessLevel: number): AccessLevelName[] {
  return (Object.entries(ACCESS_LEVELS) as Array<[AccessLevelName, number]>)
    .filter(([, level]) => level <= accessLevel)
    .sort((a, b) => a[1] - b[1])
    .map(([name]) => name);
}

/**
 * `project.groups` of the job answer: the project's group first, then each ancestor up to the
 * root. GitLab sends `project.group.self_and_ancestor_ids`, which with linear traversal ids is
 * `traversal_ids.reverse`; `traversal_ids` are root first, so this reverses them.
 */
export function projectGroups(traversalIds: readonly number[]): Array<{ id: number }> {
  return [...traversalIds].reverse().map((id) => ({ id }));
}

/** One entry of `allowed_agents` in GitLab's job answer (`CiAccess` entity: config as `configuration`). */
export function jobAllowedAgentBody(row: AllowedAgentRow) {
  return {
    id: row.agent_id,
    config_project: projectIdentityBody(row.config_project),
    configuration: row.config,
  };
}

/** One entry of Kasmap's project-level listing: the job entry plus name and the granting rule. */
export function projectAllowedAgentBody(row: AllowedAgentRow): ProjectAllowedAgent {
  return {
    id: row.agent_id,
    name: row.agent_name,
    config_project: projectIdentityBody(row.config_project),
    configuration: row.config,
    rule: row.rule,
    via_group_id: row.via_group_id,
  };
}

/** `environment` of the job answer: `{tier, slug}`, or absent when the job deploys nowhere. */
export function jobEnvironmentBody(environment: { tier: string; slug: string } | null): {
  environment?: { tier: string; slug: string };
} {
  return environment ? { environment: { tier: environment.tier, slug: environment.slug } } : {};
}
