import type { Group, Project } from "@kasmap/contracts";
import { reresolveAgentConfig } from "./agent-authorizations.ts";
import { emitRegistryChange } from "./registry-events.ts";
import { agentsAffectedByMove } from "./store/subtree-moves.ts";
import type { UnitOfWork } from "./unit-of-work.ts";

/**
 * Publishes what a move changed — every moved group (parents first) and project with its new
 * paths — then re-resolves the configs of the agents the move can affect (`agentsAffectedByMove`)
 * with `cause`, as a push of each config would (GitLab waits for that push: README, "Where Kasmap
 * departs from GitLab"); entries outside the agent project's root group are dropped. What
 * `group.transfer` and `project.transfer` publish, and the mirror's moves and renames alike.
 */
export async function publishMove(
  unit: UnitOfWork,
  moved: { groups: readonly Group[]; projects: readonly Project[] },
  cause: "group_moved" | "project_moved",
): Promise<void> {
  for (const group of moved.groups) emitRegistryChange(unit, "group", group);
  for (const project of moved.projects) emitRegistryChange(unit, "project", project);
  const agents = await agentsAffectedByMove(unit.tx, {
    groupIds: moved.groups.map((g) => g.id),
    projectIds: moved.projects.map((p) => p.id),
    newPaths: [...moved.groups.map((g) => g.full_path), ...moved.projects.map((p) => p.path_with_namespace)],
  });
  for (const agent of agents) await reresolveAgentConfig(unit, agent, cause);
}
