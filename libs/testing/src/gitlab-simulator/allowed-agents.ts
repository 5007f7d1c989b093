import { parseAgentConfig } from "@kasmap/access-rules";
import { agentJson } from "./shapes.ts";
import type { SimJob, SimulatorState } from "./state.ts";

/**
 * `GET /job/allowed_agents` (doc/api/jobs.md): agents of the job's own project (implicitly
 * authorized) and agents whose `ci_access` names the job's project or one of its groups, with
 * the matching entry's configuration (the `id` key dropped). Test support: linear in the agents.
 */
export function allowedAgentsJson(state: SimulatorState, job: SimJob): Record<string, unknown> {
  const project = state.requireProject(job.project_id);
  const projectPath = state.projectFullPath(project).toLowerCase();
  const groups = state.groups.has(project.namespace_id) ? state.groupAncestors(project.namespace_id) : [];
  const groupPaths = new Set(groups.map((group) => state.groupFullPath(group.id).toLowerCase()));
  const allowed: Array<Record<string, unknown>> = [];
  for (const agent of state.agents.values()) {
    if (agent.project_id === project.id) {
      allowed.push({ ...agentJson(state, agent), configuration: {} });
      continue;
    }
    const text = state.files.get(agent.project_id)?.get(`.gitlab/agents/${agent.name}/config.yaml`);
    if (text === undefined) continue;
    const parsed = parseAgentConfig(text);
    if (!parsed.ok) continue;
    const ciAccess = parsed.config.ci_access;
    const entry =
      ciAccess?.projects?.find((candidate) => candidate.id.toLowerCase() === projectPath) ??
      ciAccess?.groups?.find((candidate) => groupPaths.has(candidate.id.toLowerCase()));
    if (entry === undefined) continue;
    const { id: _id, ...configuration } = entry;
    allowed.push({ ...agentJson(state, agent), configuration });
  }
  const user = state.requireUser(job.user_id);
  return {
    allowed_agents: allowed,
    job: { id: job.id },
    pipeline: { id: job.pipeline_id },
    project: { id: project.id, groups: groups.map((group) => ({ id: group.id })).reverse() },
    user: { id: user.id, name: user.name, username: user.username },
  };
}
