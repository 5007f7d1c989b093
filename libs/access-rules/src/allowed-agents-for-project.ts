import type { CiAccessConfig } from "@kasmap/contracts";
import {
  type AgentPlacement,
  CI_ACCESS_RULES,
  type CiAccessData,
  type CiAccessOptions,
  type CiAccessRule,
  type ProjectPlacement,
} from "./ci-access-data.ts";

/** One agent a project's CI jobs may use, and the rule that granted it. */
export interface AllowedAgent {
  agent: AgentPlacement;
  rule: CiAccessRule;
  /** The group row that granted it (rule `group` only), else null. */
  via_group_id: number | null;
  /** The stored entry minus `id`; `{}` for the implicit rule. */
  config: CiAccessConfig;
}

/**
 * GitLab's `Clusters::Agents::Authorizations::CiAccess::Finder`: explicit project rows, then
 * agents whose configuration project is `project` (implicit, config `{}`), then group rows for
 * the project's group or an ancestor (innermost per agent); one result per agent, first wins.
 * Explicit and group rows count only while the agent's configuration project is placed as
 * `configProjectEligible` says; this is checked here, at query time, because things move.
 *
 * Order: explicit, implicit, group; within each, by agent id (GitLab leaves the order to the
 * database; Kasmap makes it stable).
 */
export function allowedAgentsForProject(
  project: ProjectPlacement,
  data: CiAccessData,
  options: CiAccessOptions = {},
): AllowedAgent[] {
  const agents = new Map(data.agents.map((agent) => [agent.id, agent]));
  const eligible = (agent: AgentPlacement) => configProjectEligible(agent, project, options);

  const explicit: AllowedAgent[] = [];
  for (const row of data.project_authorizations) {
    const agent = agents.get(row.agent_id);
    if (row.project_id !== project.id || !agent || !eligible(agent)) continue;
    explicit.push({ agent, rule: CI_ACCESS_RULES.explicitProject, via_group_id: null, config: row.config });
  }
  const implicit: AllowedAgent[] = data.agents
    .filter((agent) => agent.config_project.id === project.id)
    .map((agent) => ({ agent, rule: CI_ACCESS_RULES.implicitConfigProject, via_group_id: null, config: {} }));

  const seen = new Set<number>();
  const result: AllowedAgent[] = [];
  for (const candidate of [
    ...byAgentId(explicit),
    ...byAgentId(implicit),
    ...innermostGroupGrants(project, data, agents, eligible),
  ]) {
    if (seen.has(candidate.agent.id)) continue;
    seen.add(candidate.agent.id);
    result.push(candidate);
  }
  return result;
}

/** Per agent, the group row for the deepest of the project's groups; ordered by agent id. */
function innermostGroupGrants(
  project: ProjectPlacement,
  data: CiAccessData,
  agents: ReadonlyMap<number, AgentPlacement>,
  eligible: (agent: AgentPlacement) => boolean,
): AllowedAgent[] {
  const best = new Map<number, { depth: number; grant: AllowedAgent }>();
  for (const row of data.group_authorizations) {
    const depth = project.traversal_ids.indexOf(row.group_id);
    const agent = agents.get(row.agent_id);
    if (depth < 0 || !agent || !eligible(agent)) continue;
    const current = best.get(agent.id);
    if (current && current.depth >= depth) continue;
    const grant = { agent, rule: CI_ACCESS_RULES.group, via_group_id: row.group_id, config: row.config };
    best.set(agent.id, { depth, grant });
  }
  return byAgentId([...best.values()].map(({ grant }) => grant));
}

/**
 * Where the agent's configuration project must sit for explicit and group rows to count: under
 * the project's root group (flag on, GitLab's `traversal_ids @> '{rootId}'`), or in the
 * project's group or one of its ancestors (flag off, GitLab before MR 95774).
 */
export function configProjectEligible(
  agent: AgentPlacement,
  project: ProjectPlacement,
  options: CiAccessOptions = {},
): boolean {
  const configIds = agent.config_project.traversal_ids;
  if (options.includeDescendants ?? true) return configIds[0] === project.traversal_ids[0];
  const configNamespaceId = configIds[configIds.length - 1];
  return configNamespaceId !== undefined && project.traversal_ids.includes(configNamespaceId);
}

function byAgentId(grants: AllowedAgent[]): AllowedAgent[] {
  return grants.sort((a, b) => a.agent.id - b.agent.id);
}
