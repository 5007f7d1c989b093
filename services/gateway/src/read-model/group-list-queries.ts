import { sql } from "kysely";
import type { PageRequest } from "../http/pagination.ts";
import type { GroupRow, ReadModel } from "./registry-queries.ts";
import { selectCountedPage } from "./window-page.ts";

/**
 * Which groups a `GET /api/v4/groups` lists, as GitLab's `GroupsFinder` chooses them
 * (app/finders/groups_finder.rb), over Kasmap's read model where every group is private:
 * - `all`: every group (an administrator with `all_available`, GitLab's default for them);
 * - `hierarchy`: the groups the user belongs to with all their subgroups, and the groups above
 *   anything the user belongs to (a group or a project): GitLab's
 *   `GroupHierarchy(authorized_groups, groups).all_groups`. GitLab adds public and internal
 *   groups with `all_available`; Kasmap has no group visibility, so there are none to add;
 * - `owned`: the groups where the user is a direct Owner (`owned_groups`);
 * - `min_access_level`: the groups where the user's level, held there or on a group above, is
 *   at least `level` (`groups_with_min_access_level`: direct memberships at that level and their
 *   descendants).
 */
export type GroupListScope =
  | { kind: "all" }
  | { kind: "hierarchy"; userId: number }
  | { kind: "owned"; userId: number }
  | { kind: "min_access_level"; userId: number; level: number };

export type GroupListFilter = {
  /** Part of the group's name or path, its parents' included (GitLab's `include_parents`), case-insensitive. */
  readonly search?: string | undefined;
  readonly topLevelOnly?: boolean;
  readonly skipIds?: readonly number[] | undefined;
  readonly orderBy: "name" | "path" | "id";
  readonly sort: "asc" | "desc";
};

/** `%…%` for `ilike` with the pattern characters of `text` escaped. */
function containing(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * The scope's groups (never personal namespaces: GitLab's groups API does not list them),
 * filtered and ordered by `orderBy` then id ascending (GitLab's tie-breaker):
 *
 * ```sql
 * select g.* from read_model.groups g
 * where g.kind = 'group' and <scope> [and (g.full_name ilike $s or g.full_path ilike $s)]
 *   [and g.parent_id is null] [and g.id not in (…)]
 * order by g.<order_by> <sort>, g.id
 * ```
 */
function groupsQuery(db: ReadModel, scope: GroupListScope, filter: GroupListFilter) {
  let query = db.selectFrom("read_model.groups as g").selectAll("g").where("g.kind", "=", "group");
  if (scope.kind === "hierarchy") {
    // Subgroups of (and) the user's groups; groups above (and) the user's groups and projects.
    query = query.where(
      sql<boolean>`(
        g.traversal_ids && coalesce((select array_agg(m.source_id::int) from read_model.memberships m
          where m.user_id = ${scope.userId} and m.source_type = 'group'), '{}'::int[])
        or exists (select 1 from read_model.memberships m
          left join read_model.groups mg on m.source_type = 'group' and mg.id = m.source_id
          left join read_model.projects mp on m.source_type = 'project' and mp.id = m.source_id
          where m.user_id = ${scope.userId} and coalesce(mg.traversal_ids, mp.traversal_ids) @> array[g.id]::int[])
      )`,
    );
  } else if (scope.kind === "owned") {
    query = query.where(
      sql<boolean>`exists (select 1 from read_model.memberships m where m.user_id = ${scope.userId}
        and m.source_type = 'group' and m.source_id = g.id and m.access_level >= 50)`,
    );
  } else if (scope.kind === "min_access_level") {
    query = query.where(
      sql<boolean>`(select max(m.access_level) from read_model.memberships m where m.user_id = ${scope.userId}
        and m.source_type = 'group' and m.source_id = any(g.traversal_ids)) >= ${scope.level}`,
    );
  }
  if (filter.search !== undefined && filter.search !== "") {
    const pattern = containing(filter.search);
    query = query.where((eb) =>
      eb.or([eb("g.full_name", "ilike", pattern), eb("g.full_path", "ilike", pattern)]),
    );
  }
  if (filter.topLevelOnly) query = query.where("g.parent_id", "is", null);
  if (filter.skipIds !== undefined && filter.skipIds.length > 0) {
    query = query.where("g.id", "not in", [...filter.skipIds]);
  }
  const ordered = filter.orderBy === "id" ? query : query.orderBy(`g.${filter.orderBy}`, filter.sort);
  return ordered.orderBy("g.id", filter.orderBy === "id" ? filter.sort : "asc");
}

/** One page of the scope's groups and their number over all pages. */
export async function listGroups(
  db: ReadModel,
  scope: GroupListScope,
  filter: GroupListFilter,
  page: PageRequest,
): Promise<{ groups: GroupRow[]; total: number }> {
  const { rows, total } = await selectCountedPage(db, groupsQuery(db, scope, filter), page);
  return { groups: rows, total };
}
