import type { CiAccessConfig } from "@kasmap/contracts";
import { allowedAgentsForProject, configProjectEligible } from "./allowed-agents-for-project.ts";
import {
  type AgentPlacement,
  type CiAccessData,
  type CiAccessOptions,
  type CiAccessRule,
  groupPathAt,
  namespacePath,
  type ProjectPlacement,
} from "./ci-access-data.ts";
import { type JobContext, jobDenialReason } from "./filter-authorizations-for-job.ts";

export type AuthorizationExplanation =
  | { allowed: true; rule: CiAccessRule; via_group_id?: number; config: CiAccessConfig }
  | { allowed: false; reasons: string[] };

export interface ExplainOptions extends CiAccessOptions {
  /** When given, the job filter (environments, protected branches) is applied as well. */
  job?: JobContext;
}

/**
 * Why may (or may not) `project`'s CI use `agent`? The answer is the same rule
 * `allowedAgentsForProject` applies; the reasons are sentences for a person, naming paths.
 */
export function explainAuthorization(
  project: ProjectPlacement,
  agent: AgentPlacement,
  data: CiAccessData,
  options: ExplainOptions = {},
): AuthorizationExplanation {
  const own: CiAccessData = {
    agents: [agent],
    project_authorizations: data.project_authorizations.filter((row) => row.agent_id === agent.id),
    group_authorizations: data.group_authorizations.filter((row) => row.agent_id === agent.id),
  };
  const grant = allowedAgentsForProject(project, own, options)[0];
  if (!grant) return { allowed: false, reasons: whyNotGranted(project, agent, own, options) };
  const denial = options.job ? jobDenialReason(grant.config, options.job) : null;
  if (denial !== null) return { allowed: false, reasons: [denial] };
  return grant.via_group_id === null
    ? { allowed: true, rule: grant.rule, config: grant.config }
    : { allowed: true, rule: grant.rule, via_group_id: grant.via_group_id, config: grant.config };
}

function whyNotGranted(
  project: ProjectPlacement,
  agent: AgentPlacement,
  own: CiAccessData,
  options: CiAccessOptions,
): string[] {
  const listsProject = own.project_authorizations.some((row) => row.project_id === project.id);
  const listedGroups = project.traversal_ids
    .map((id, depth) => ({ id, path: groupPathAt(project, depth) }))
    .filter(({ id }) => own.group_authorizations.some((row) => row.group_id === id));
  const subject = `agent ${agent.name} (configuration project ${agent.config_project.path_with_namespace})`;
  if (!listsProject && listedGroups.length === 0) {
    const groups = project.traversal_ids.map((_, depth) => groupPathAt(project, depth)).join(", ");
    return [
      `${subject} lists neither project ${project.path_with_namespace} nor any of its groups (${groups}) in ci_access`,
    ];
  }
  const listed = listsProject
    ? `${subject} lists project ${project.path_with_namespace}`
    : `${subject} lists group ${listedGroups.map((g) => g.path).join(", ")}`;
  if (!configProjectEligible(agent, project, options)) {
    return [`${listed}, but ${placementProblem(project, agent, options)}`];
  }
  return [`${listed}, but it did not apply (this is a bug: please report it)`];
}

function placementProblem(
  project: ProjectPlacement,
  agent: AgentPlacement,
  options: CiAccessOptions,
): string {
  const config = agent.config_project;
  if (options.includeDescendants ?? true) {
    return (
      `the agent's configuration project ${config.path_with_namespace} is under root group ${groupPathAt(config, 0)}; ` +
      `project ${project.path_with_namespace} is under root group ${groupPathAt(project, 0)}`
    );
  }
  return (
    `the agent's configuration project ${config.path_with_namespace} is in group ${namespacePath(config)}, ` +
    `which is not project ${project.path_with_namespace}'s group or an ancestor of it ` +
    "(agent_authorization_include_descendants is off)"
  );
}
