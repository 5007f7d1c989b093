import type { GitLabSimulator } from "./index.ts";
import type { SimGroup, SimProject } from "./state.ts";

/** The groups and projects `addAgentProjectHierarchy` adds. */
export type AgentProjectHierarchy = {
  root: SimGroup;
  operators: SimGroup;
  developers: SimGroup;
  /** Root-Group/Operators/Agent-Project: where the agent and its config file belong. */
  agentProject: SimProject;
  /** Root-Group/Developers/Feature-Project: a sibling that may be granted the agent. */
  featureProject: SimProject;
};

/**
 * Adds issue 9's hierarchy to the simulator: Root-Group with the subgroups Operators and
 * Developers, Operators/Agent-Project and Developers/Feature-Project (paths `root-group`,
 * `operators`, `agent-project`, …). Users, members, agents and files are the caller's.
 */
export function addAgentProjectHierarchy(sim: GitLabSimulator): AgentProjectHierarchy {
  const root = sim.addGroup({ path: "root-group", name: "Root-Group" });
  const operators = sim.addGroup({ path: "operators", name: "Operators", parent_id: root.id });
  const developers = sim.addGroup({ path: "developers", name: "Developers", parent_id: root.id });
  const project = (path: string, name: string, group: SimGroup) =>
    sim.addProject({ path, name, namespace_id: group.id });
  return {
    root,
    operators,
    developers,
    agentProject: project("agent-project", "Agent-Project", operators),
    featureProject: project("feature-project", "Feature-Project", developers),
  };
}
