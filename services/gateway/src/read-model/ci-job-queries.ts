import type { CiAccessData } from "@kasmap/access-rules";
import { CiAccessConfigSchema, JobSchema } from "@kasmap/contracts";
import { sql } from "kysely";
import type { ProjectRow, ReadModel } from "./registry-queries.ts";

const JobEnvironmentSchema = JobSchema.shape.environment;

export type CiJobRow = {
  id: number;
  project_id: number;
  pipeline_id: number;
  user_id: number;
  ref_protected: boolean | null;
  environment: { name: string; tier: string; slug: string } | null;
};

/**
 * A job row's `environment` column as the read model stores it (SQL NULL or JSON null = none),
 * parsed: the projection wrote it from a validated event; parsing again guards the wire shape.
 */
export function parseJobEnvironment(value: unknown): CiJobRow["environment"] {
  return JobEnvironmentSchema.parse(value ?? null);
}

/**
 * The CI rows of one agent that can bear on `project`, for `explainAuthorization`: its project
 * row for the project and its group rows for the project's groups (rows elsewhere never grant).
 *
 * ```sql
 * select project_id, config from read_model.ci_access_project_authorizations
 *   where agent_id = $1 and project_id = $2;
 * select group_id, config from read_model.ci_access_group_authorizations
 *   where agent_id = $1 and group_id = any($3::bigint[]);
 * ```
 */
export async function loadAgentCiRowsFor(
  db: ReadModel,
  agentId: number,
  project: Pick<ProjectRow, "id" | "traversal_ids">,
): Promise<Pick<CiAccessData, "project_authorizations" | "group_authorizations">> {
  const [projectRows, groupRows] = await Promise.all([
    db
      .selectFrom("read_model.ci_access_project_authorizations")
      .select(["project_id", "config"])
      .where("agent_id", "=", agentId)
      .where("project_id", "=", project.id)
      .execute(),
    db
      .selectFrom("read_model.ci_access_group_authorizations")
      .select(["group_id", "config"])
      .where("agent_id", "=", agentId)
      .where(sql<boolean>`group_id = any(${sql.val(project.traversal_ids)}::bigint[])`)
      .execute(),
  ]);
  return {
    project_authorizations: projectRows.map((r) => ({
      agent_id: agentId,
      project_id: r.project_id,
      config: CiAccessConfigSchema.parse(r.config),
    })),
    group_authorizations: groupRows.map((r) => ({
      agent_id: agentId,
      group_id: r.group_id,
      config: CiAccessConfigSchema.parse(r.config),
    })),
  };
}
