import { sql } from "kysely";
import type { ProjectFilter } from "../access/access-source.ts";
import type { ReadModel } from "./registry-queries.ts";

/** Most project paths listed per agent; `project_count` counts them all. */
export const MAX_DEPLOYABLE_PROJECTS = 100;

export type DeployableBy = {
  projects: Array<{ id: number; path_with_namespace: string }>;
  groups: Array<{ id: number; full_path: string }>;
  project_count: number;
};

/**
 * Every project whose CI may deploy with agent `agentId`, from its `ci_access` rows as GitLab
 * counts them: explicit project rows, every project under a group row (a group covers its
 * subgroups), and the configuration project itself; explicit and group rows only while the
 * target shares the configuration project's root group (re-checked here, since groups move).
 * Group coverage is `projects.traversal_ids && <group ids>` on the GIN index, and the total is a
 * SQL `count(*)`: a group row over a huge tree never loads its projects.
 *
 * `projects` lists the first 100 by path within `visible` (the projects the caller can see; admins: all), so the answer
 * reveals no private project's path; `project_count` and `groups` (named in the agent's
 * configuration, which the caller may read) are complete.
 */
export async function deployableBy(
  db: ReadModel,
  visible: ProjectFilter,
  agentId: number,
): Promise<DeployableBy> {
  const scope = sql`
    with ag as (
      select a.id, cp.id as config_project_id, cp.traversal_ids[1] as root
      from read_model.agents a join read_model.projects cp on cp.id = a.project_id where a.id = ${agentId}
    ),
    grp as (
      select g.id, g.full_path from read_model.ci_access_group_authorizations cg
      join ag on cg.agent_id = ag.id
      join read_model.groups g on g.id = cg.group_id and g.traversal_ids[1] = ag.root
    ),
    proj as (
      select cpa.project_id as id from read_model.ci_access_project_authorizations cpa
        join ag on cpa.agent_id = ag.id
        join read_model.projects t on t.id = cpa.project_id and t.traversal_ids[1] = ag.root
      union
      select t.id from read_model.projects t
        where t.traversal_ids && (select coalesce(array_agg(id::int), '{}'::int[]) from grp)
      union
      select config_project_id from ag
    )`;
  const [groups, count, projects] = await Promise.all([
    sql<{ id: number; full_path: string }>`${scope} select id, full_path from grp order by full_path`.execute(
      db,
    ),
    sql<{ n: number }>`${scope} select count(*) as n from proj`.execute(db),
    sql<{ id: number; path_with_namespace: string }>`${scope}
      select p.id, p.path_with_namespace from proj join read_model.projects p on p.id = proj.id
      where ${visible}
      order by p.path_with_namespace limit ${MAX_DEPLOYABLE_PROJECTS}`.execute(db),
  ]);
  return { projects: projects.rows, groups: groups.rows, project_count: count.rows[0]?.n ?? 0 };
}
