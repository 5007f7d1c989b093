import type { Group, Project } from "@kasmap/contracts";
import { sql } from "kysely";
import { reresolveAgentConfig } from "./agent-authorizations.ts";
import { retireAgent } from "./agent-retirement.ts";
import { emitRegistryChange } from "./registry-events.ts";
import { toAgent, toGroup, toJob, toProject } from "./store/entities.ts";
import { writeMembership } from "./store/memberships.ts";
import { agentsAffectedByMove } from "./store/subtree-moves.ts";
import type { UnitOfWork } from "./unit-of-work.ts";

/** How many groups, projects and (live) agents a removal took. */
export type RemovalCounts = { groups: number; projects: number; agents: number };

export const NOTHING_REMOVED: RemovalCounts = { groups: 0, projects: 0, agents: 0 };

export function addCounts(a: RemovalCounts, b: RemovalCounts): RemovalCounts {
  return { groups: a.groups + b.groups, projects: a.projects + b.projects, agents: a.agents + b.agents };
}

/**
 * Removes a project deleted in GitLab. Its live agents are deleted as `agent.delete` deletes
 * them (same events), memberships on it are removed (`access_level: null`), running jobs
 * finished; then the rows go for good (GitLab never reuses an id, and the foreign keys of
 * agents, tokens and jobs point at the project) and the project's last event carries
 * `deleted_at`, which makes the read model drop it. Agents elsewhere that held grants on it
 * are re-resolved (`registry_changed`) so `allowed_agents` no longer names it.
 */
export async function removeProject(unit: UnitOfWork, project: Project): Promise<RemovalCounts> {
  const counts = await removeProjectRows(unit, project);
  await reresolveHoldersOf(unit, { groupIds: [], projectIds: [project.id] });
  return counts;
}

/**
 * Removes a group and everything under it (subgroups, their projects and agents), deepest first,
 * each with the events of its own removal; each group's last event carries `deleted_at`.
 */
export async function removeGroupSubtree(unit: UnitOfWork, group: Group): Promise<RemovalCounts> {
  const inside = sql<boolean>`traversal_ids @> array[${group.id}]::int[]`;
  const projects = await unit.tx
    .selectFrom("authz.projects")
    .selectAll()
    .where(inside)
    .orderBy("id")
    .execute();
  let counts = NOTHING_REMOVED;
  for (const project of projects)
    counts = addCounts(counts, await removeProjectRows(unit, toProject(project)));
  const groups = await unit.tx.selectFrom("authz.groups").selectAll().where(inside).execute();
  const deepestFirst = groups.sort((a, b) => b.traversal_ids.length - a.traversal_ids.length || a.id - b.id);
  for (const row of deepestFirst) {
    await removeMemberships(unit, "group", row.id);
    await unit.tx.deleteFrom("authz.groups").where("id", "=", row.id).execute();
    emitRegistryChange(unit, "group", { ...toGroup(row), deleted_at: new Date().toISOString() });
  }
  counts = addCounts(counts, { groups: groups.length, projects: 0, agents: 0 });
  await reresolveHoldersOf(unit, {
    groupIds: groups.map((g) => g.id),
    projectIds: projects.map((p) => p.id),
  });
  return counts;
}

async function removeProjectRows(unit: UnitOfWork, project: Project): Promise<RemovalCounts> {
  const agents = await unit.tx
    .selectFrom("authz.agents")
    .selectAll()
    .where("project_id", "=", project.id)
    .orderBy("id")
    .execute();
  const live = agents.filter((a) => a.deleted_at === null);
  for (const agent of live) await retireAgent(unit, toAgent(agent));
  const agentIds = agents.map((a) => a.id);
  if (agentIds.length > 0) {
    // Nothing refers to a deleted agent's rows but these; its history lives in the event log.
    for (const table of [
      "authz.agent_config_paths",
      "authz.agent_grant_targets",
      "authz.agent_configs",
      "authz.agent_tokens",
    ] as const) {
      await unit.tx.deleteFrom(table).where("agent_id", "in", agentIds).execute();
    }
    await unit.tx.deleteFrom("authz.agents").where("id", "in", agentIds).execute();
  }
  const finished = await unit.tx
    .updateTable("authz.jobs")
    .set({ status: "finished" })
    .where("project_id", "=", project.id)
    .where("status", "=", "running")
    .returningAll()
    .execute();
  for (const job of finished.sort((a, b) => a.id - b.id)) emitRegistryChange(unit, "job", toJob(job));
  await unit.tx.deleteFrom("authz.jobs").where("project_id", "=", project.id).execute();
  await removeMemberships(unit, "project", project.id);
  await unit.tx.deleteFrom("authz.projects").where("id", "=", project.id).execute();
  emitRegistryChange(unit, "project", { ...project, deleted_at: new Date().toISOString() });
  return { groups: 0, projects: 1, agents: live.length };
}

async function removeMemberships(unit: UnitOfWork, sourceType: "group" | "project", sourceId: number) {
  const members = await unit.tx
    .selectFrom("authz.memberships")
    .select("user_id")
    .where("source_type", "=", sourceType)
    .where("source_id", "=", sourceId)
    .orderBy("user_id")
    .execute();
  for (const { user_id } of members) {
    await writeMembership(unit, { userId: user_id, sourceType, sourceId }, null);
  }
}

/** Live agents whose grants named a removed group or project: their grants shrink. */
async function reresolveHoldersOf(unit: UnitOfWork, removed: { groupIds: number[]; projectIds: number[] }) {
  const agents = await agentsAffectedByMove(unit.tx, { ...removed, newPaths: [] });
  for (const agent of agents) await reresolveAgentConfig(unit, agent, "registry_changed");
}
