import type { AgentPlacement, CiAccessData, ProjectPlacement } from "@kasmap/access-rules";
import type { CiAccessConfig } from "@kasmap/contracts";
import type { ReadModelDatabase } from "@kasmap/db";
import { seededRandom } from "@kasmap/testing";
import { type Kysely, sql } from "kysely";
import { groupRow, projectRow } from "./registry-rows.ts";

/**
 * Random group trees, projects, agents and CI authorization rows for comparing the SQL answer
 * with `allowedAgentsForProject`. Rows deliberately include what authz would have dropped
 * (grants outside the agent's root, agents whose project moved away): things move, and the
 * query must re-check placement exactly as the pure rule does.
 */
export type RandomCiRegistry = {
  groups: Array<{ id: number; traversal_ids: number[]; full_path: string }>;
  projects: ProjectPlacement[];
  data: CiAccessData;
};

const CONFIGS: readonly CiAccessConfig[] = [
  {},
  { default_namespace: "ns" },
  { access_as: { agent: {} } },
  { environments: ["production"], protected_branches_only: true },
  { access_as: { ci_job: {} }, environments: ["review/*"] },
];

export function randomCiRegistry(seed: number): RandomCiRegistry {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const groups: RandomCiRegistry["groups"] = [];
  const groupCount = 3 + Math.floor(random() * 12);
  for (let i = 0; i < groupCount; i++) {
    const id = 100 + i;
    // A third of the groups are roots, the rest hang under an earlier group (depth grows).
    const parent = i === 0 || random() < 0.3 ? null : pick(groups);
    groups.push({
      id,
      traversal_ids: parent ? [...parent.traversal_ids, id] : [id],
      full_path: parent ? `${parent.full_path}/g${id}` : `g${id}`,
    });
  }
  const projects: ProjectPlacement[] = [];
  const projectCount = 2 + Math.floor(random() * 20);
  for (let i = 0; i < projectCount; i++) {
    const group = pick(groups);
    projects.push({
      id: 1000 + i,
      path_with_namespace: `${group.full_path}/p${i}`,
      traversal_ids: group.traversal_ids,
    });
  }
  const agents: AgentPlacement[] = [];
  const agentCount = 1 + Math.floor(random() * 10);
  for (let i = 0; i < agentCount; i++)
    agents.push({ id: 1 + i, name: `agent-${i}`, config_project: pick(projects) });
  const projectRows = new Map<string, CiAccessData["project_authorizations"][number]>();
  const groupRows = new Map<string, CiAccessData["group_authorizations"][number]>();
  const rowCount = Math.floor(random() * 25);
  for (let i = 0; i < rowCount; i++) {
    const agent = pick(agents);
    if (random() < 0.5) {
      const project = pick(projects);
      projectRows.set(`${agent.id}:${project.id}`, {
        agent_id: agent.id,
        project_id: project.id,
        config: pick(CONFIGS),
      });
    } else {
      const group = pick(groups);
      groupRows.set(`${agent.id}:${group.id}`, {
        agent_id: agent.id,
        group_id: group.id,
        config: pick(CONFIGS),
      });
    }
  }
  return {
    groups,
    projects,
    data: {
      agents,
      project_authorizations: [...projectRows.values()],
      group_authorizations: [...groupRows.values()],
    },
  };
}

const CREATED = "2024-01-01T00:00:00.000Z";

/** Replaces the registry tables' rows with `registry`. */
export async function loadRandomCiRegistry(db: Kysely<ReadModelDatabase>, registry: RandomCiRegistry) {
  // `delete`, not `truncate`: truncate makes new files per table, ~40x slower at this size.
  await sql`delete from read_model.groups; delete from read_model.projects; delete from read_model.agents;
    delete from read_model.ci_access_project_authorizations;
    delete from read_model.ci_access_group_authorizations`.execute(db);
  await db
    .insertInto("read_model.groups")
    .values(registry.groups.map((g) => groupRow({ ...g, path: `g${g.id}` })))
    .execute();
  await db
    .insertInto("read_model.projects")
    .values(
      registry.projects.map((p) =>
        projectRow({ ...p, name: `p${p.id}`, name_with_namespace: p.path_with_namespace }),
      ),
    )
    .execute();
  const { agents, project_authorizations, group_authorizations } = registry.data;
  await db
    .insertInto("read_model.agents")
    .values(
      agents.map((a) => ({
        id: a.id,
        name: a.name,
        project_id: a.config_project.id,
        created_at: CREATED,
        created_by_user_id: null,
      })),
    )
    .execute();
  if (project_authorizations.length > 0) {
    await db
      .insertInto("read_model.ci_access_project_authorizations")
      .values(project_authorizations.map((r) => ({ ...r, config: JSON.stringify(r.config) })))
      .execute();
  }
  if (group_authorizations.length > 0) {
    await db
      .insertInto("read_model.ci_access_group_authorizations")
      .values(group_authorizations.map((r) => ({ ...r, config: JSON.stringify(r.config) })))
      .execute();
  }
}
