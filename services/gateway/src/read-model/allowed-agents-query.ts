import { CI_ACCESS_RULES, type CiAccessOptions, type CiAccessRule } from "@kasmap/access-rules";
import { type CiAccessConfig, CiAccessConfigSchema } from "@kasmap/contracts";
import { sql } from "kysely";
import type { ProjectRow, ReadModel } from "./registry-queries.ts";

/** One agent project P's CI may use, with its configuration project, as the query returns it. */
export type AllowedAgentRow = {
  agent_id: number;
  agent_name: string;
  rule: CiAccessRule;
  /** The group row that granted it (rule `group` only), else null. */
  via_group_id: number | null;
  /** The stored entry minus `id`; `{}` for the implicit rule. */
  config: CiAccessConfig;
  config_project: ProjectRow;
};

/** The configuration project's columns, flattened with a `cp_` prefix by the SQL function. */
type PrefixedProjectColumns = { [K in keyof ProjectRow as `cp_${K}`]: ProjectRow[K] };

type RawRow = Omit<AllowedAgentRow, "rule" | "config" | "config_project"> &
  PrefixedProjectColumns & { priority: number; config: unknown };

const RULE_BY_PRIORITY: readonly CiAccessRule[] = [
  CI_ACCESS_RULES.explicitProject,
  CI_ACCESS_RULES.implicitConfigProject,
  CI_ACCESS_RULES.group,
];

/**
 * The agents project `projectId`'s CI jobs may use (GitLab's `CiAccess::Finder`, the same answer
 * as `allowedAgentsForProject` from `@kasmap/access-rules`), in ONE statement answered from indexes
 * (the body of the PL/pgSQL function `read_model.allowed_agents(project_id, include_descendants)`):
 * the projects primary key, `ci_access_project_authorizations_project`, `agents_project_name`,
 * `ci_access_group_authorizations_group` (probed with P's `traversal_ids`) and the agents and
 * projects primary keys. No tree is walked: P's ancestors are its `traversal_ids`.
 *
 * ```sql
 * with p as (select id, traversal_ids from read_model.projects where id = $1),
 * candidates as (
 *   select a.agent_id, 0 as priority, null::bigint as via_group_id, a.config, 0 as depth
 *     from read_model.ci_access_project_authorizations a join p on a.project_id = p.id
 *   union all
 *   select ag.id, 1, null, '{}'::jsonb, 0 from read_model.agents ag join p on ag.project_id = p.id
 *   union all
 *   select g.agent_id, 2, g.group_id, g.config, array_position(p.traversal_ids, g.group_id::int)
 *     from read_model.ci_access_group_authorizations g join p on g.group_id = any(p.traversal_ids)
 * ),
 * best as (
 *   select distinct on (c.agent_id) c.*, ag.name, cp.*
 *   from candidates c
 *   join read_model.agents ag on ag.id = c.agent_id
 *   join read_model.projects cp on cp.id = ag.project_id
 *   cross join p
 *   where c.priority = 1
 *      or (include_descendants and cp.traversal_ids[1] = p.traversal_ids[1])        -- flag on (default)
 *      or (not include_descendants and p.traversal_ids @> array[cp.namespace_id::int])
 *   order by c.agent_id, c.priority, c.depth desc          -- explicit > implicit > innermost group
 * )
 * select * from best order by priority, agent_id
 * ```
 * Empty when the project does not exist.
 */
export async function queryAllowedAgents(
  db: ReadModel,
  projectId: number,
  options: CiAccessOptions = {},
): Promise<AllowedAgentRow[]> {
  // Explicit and group rows count only while the agent's configuration project is placed so
  // (`configProjectEligible`); re-checked at query time because groups and projects move.
  // The statement lives in the `read_model.allowed_agents` function (migration 012) so that
  // PostgreSQL keeps its plan: planning it costs more than running it.
  const result = await sql<RawRow>`
    select * from read_model.allowed_agents(${projectId}, ${options.includeDescendants ?? true})
  `.execute(db);
  return result.rows.map(toAllowedAgentRow);
}

function toAllowedAgentRow(row: RawRow): AllowedAgentRow {
  const rule = RULE_BY_PRIORITY[row.priority];
  if (rule === undefined) throw new Error(`unexpected allowed-agents priority ${row.priority}`);
  return {
    agent_id: row.agent_id,
    agent_name: row.agent_name,
    rule,
    via_group_id: row.via_group_id,
    // The projection stored it from a validated event; parsing again guards the wire shape.
    config: CiAccessConfigSchema.parse(row.config),
    config_project: {
      id: row.cp_id,
      name: row.cp_name,
      path: row.cp_path,
      description: row.cp_description,
      path_with_namespace: row.cp_path_with_namespace,
      name_with_namespace: row.cp_name_with_namespace,
      namespace_id: row.cp_namespace_id,
      traversal_ids: row.cp_traversal_ids,
      creator_id: row.cp_creator_id,
      created_at: row.cp_created_at,
    },
  };
}
