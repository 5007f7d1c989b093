import { sql } from "kysely";
import type { GroupRow, ProjectRow, ReadModel } from "../read-model/registry-queries.ts";

/**
 * A user's access level on a project: the highest of their memberships on the project itself
 * and on every group in its `traversal_ids` (GitLab's inherited membership), in one query:
 *
 * ```sql
 * select max(access_level) from read_model.memberships
 * where user_id = $1 and ((source_type = 'project' and source_id = $2)
 *                      or (source_type = 'group' and source_id = any($3::bigint[])))
 * ```
 * 0 when the user has no membership.
 */
export async function projectAccessLevel(
  db: ReadModel,
  userId: number,
  project: Pick<ProjectRow, "id" | "traversal_ids">,
): Promise<number> {
  const row = await db
    .selectFrom("read_model.memberships")
    .select((eb) => eb.fn.max("access_level").as("level"))
    .where("user_id", "=", userId)
    .where((eb) =>
      eb.or([
        eb.and([eb("source_type", "=", "project"), eb("source_id", "=", project.id)]),
        eb.and([
          eb("source_type", "=", "group"),
          sql<boolean>`source_id = any(${sql.val(project.traversal_ids)}::bigint[])`,
        ]),
      ]),
    )
    .executeTakeFirst();
  return Number(row?.level ?? 0);
}

/**
 * A user's access to a group: `level` is the highest membership on the group or an ancestor.
 * `visible` is also true for members of anything inside the group (a subgroup or project), who
 * can see the group in GitLab without holding a role on it.
 */
export async function groupAccess(
  db: ReadModel,
  userId: number,
  group: Pick<GroupRow, "id" | "traversal_ids">,
): Promise<{ level: number; visible: boolean }> {
  const result = await sql<{ level: number | null; inside: boolean }>`
    select
      (select max(access_level) from read_model.memberships
        where user_id = ${userId} and source_type = 'group'
          and source_id = any(${sql.val(group.traversal_ids)}::bigint[])) as level,
      exists (
        select 1 from read_model.memberships m
        left join read_model.groups g on m.source_type = 'group' and g.id = m.source_id
        left join read_model.projects p on m.source_type = 'project' and p.id = m.source_id
        where m.user_id = ${userId}
          and coalesce(g.traversal_ids, p.traversal_ids) @> array[${group.id}]::int[]
      ) as inside
  `.execute(db);
  const row = result.rows[0];
  const level = Number(row?.level ?? 0);
  return { level, visible: level > 0 || row?.inside === true };
}
