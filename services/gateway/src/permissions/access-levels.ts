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
 * Every membership of one user, for deciding their level on any project without a query
 * (`levelFromMemberships`): per source, the access level.
 */
export type UserMemberships = {
  readonly projects: ReadonlyMap<number, number>;
  readonly groups: ReadonlyMap<number, number>;
};

/**
 * A user with more memberships than this is not held whole (`loadUserMemberships` answers
 * "too_many"): their levels are looked up per project instead.
 */
export const MAX_MEMBERSHIPS_HELD_PER_USER = 1_000;

/**
 * The user's memberships, or "too_many" past `MAX_MEMBERSHIPS_HELD_PER_USER`:
 *
 * ```sql
 * select source_type, source_id, access_level from read_model.memberships where user_id = $1 limit 1001
 * ```
 */
export async function loadUserMemberships(
  db: ReadModel,
  userId: number,
): Promise<UserMemberships | "too_many"> {
  const rows = await db
    .selectFrom("read_model.memberships")
    .select(["source_type", "source_id", "access_level"])
    .where("user_id", "=", userId)
    .limit(MAX_MEMBERSHIPS_HELD_PER_USER + 1)
    .execute();
  if (rows.length > MAX_MEMBERSHIPS_HELD_PER_USER) return "too_many";
  const projects = new Map<number, number>();
  const groups = new Map<number, number>();
  for (const row of rows) {
    const into = row.source_type === "project" ? projects : groups;
    const id = Number(row.source_id);
    into.set(id, Math.max(into.get(id) ?? 0, Number(row.access_level)));
  }
  return { projects, groups };
}

/** As `projectAccessLevel`, from the user's memberships held in memory (the same rule). */
export function levelFromMemberships(
  memberships: UserMemberships,
  project: Pick<ProjectRow, "id" | "traversal_ids">,
): number {
  let level = memberships.projects.get(project.id) ?? 0;
  for (const groupId of project.traversal_ids) level = Math.max(level, memberships.groups.get(groupId) ?? 0);
  return level;
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
