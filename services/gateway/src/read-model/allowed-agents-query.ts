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
  config_project: ConfigProjectRow;
};

/**
 * The configuration project as the answers send it (GitLab's `ProjectIdentity`): the function
 * returns no more, so that a wide answer costs the client little more than one row.
 */
export type ConfigProjectRow = Pick<
  ProjectRow,
  "id" | "name" | "path" | "description" | "path_with_namespace" | "name_with_namespace" | "created_at"
>;

/** The configuration project's columns, flattened with a `cp_` prefix by the SQL function. */
type PrefixedProjectColumns = { [K in keyof ConfigProjectRow as `cp_${K}`]: ConfigProjectRow[K] };

type RawRow = Omit<AllowedAgentRow, "rule" | "config" | "config_project"> &
  PrefixedProjectColumns & { priority: number; config: unknown };

const RULE_BY_PRIORITY: readonly CiAccessRule[] = [
  CI_ACCESS_RULES.explicitProject,
  CI_ACCESS_RULES.implicitConfigProject,
  CI_ACCESS_RULES.group,
];

/**
 * The agents project `projectId`'s CI jobs may use (GitLab's `CiAccess::Finder`, the same answer
 * as `allowedAgentsForProject` from `@kasmap/access-rules`), from the PL/pgSQL function
 * `read_model.allowed_agents(project_id, include_descendants)` (migrations 023 and 024).
 *
 * With the flag on (GitLab's default), the group rule is resolved ahead of time in
 * `read_model.ci_access_namespace_grants`: per namespace N and agent A, A's innermost
 * `ci_access` group authorization on N or an ancestor of N, kept only while A's configuration
 * project shares N's root group, with A's name and configuration project copied in. Statement
 * triggers on groups, projects, agents and ci_access_group_authorizations keep those rows in the
 * writer's transaction (moves, renames, grant changes, deletions; a rebuild replays them). The
 * query is then two index probes for most projects:
 *
 * ```sql
 * select namespace_id, exists (explicit rows of P) or exists (agents configured in P)
 *   from read_model.projects where id = $1;                       -- the primary key
 * select … from read_model.ci_access_namespace_grants
 *  where namespace_id = $namespace order by agent_id;             -- one index range
 * ```
 *
 * and, for a project with explicit or implicit rows of its own, those rows (explicit > implicit,
 * an explicit one only while the agent's configuration project shares P's root) followed by the
 * namespace's rows of the other agents. With the flag off it is 012's statement, kept as
 * `read_model.allowed_agents_by_traversal`: P's `traversal_ids` probed over the authorization
 * tables, the configuration project's namespace checked against them. Both are compared on
 * random registries and random moves in `allowed-agents-query.int.test.ts`.
 * Each row carries its configuration project as the routes send it (`ConfigProjectRow`, 024).
 * Empty when the project does not exist.
 */
export async function queryAllowedAgents(
  db: ReadModel,
  projectId: number,
  options: CiAccessOptions = {},
): Promise<AllowedAgentRow[]> {
  // A PL/pgSQL function, so that PostgreSQL keeps its plans (planning costs more than running).
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
      created_at: row.cp_created_at,
    },
  };
}
