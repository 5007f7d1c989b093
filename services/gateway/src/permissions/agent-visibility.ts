import { leastLevel, type RoleAction } from "@kasmap/access-rules";
import { type RawBuilder, sql } from "kysely";
import type { AuthenticatedUser } from "../auth/authenticate.ts";

/**
 * A SQL condition on a configuration project row aliased `p`: true when `user` may read the
 * agents registered in it (admins always; others with Developer+ on the project or on any group
 * in its `traversal_ids`, GitLab's inherited membership). The same rule as `visibleProject` with
 * `"read_cluster_agent"` (`ROLE_POLICY`), written for queries that filter many projects at once:
 *
 * ```sql
 * exists (select 1 from read_model.memberships m
 *   where m.user_id = $1 and m.access_level >= 30
 *     and ((m.source_type = 'project' and m.source_id = p.id)
 *       or (m.source_type = 'group' and m.source_id = any(p.traversal_ids))))
 * ```
 * (answered from `memberships_user`).
 */
export function agentsReadableSql(user: AuthenticatedUser): RawBuilder<boolean> {
  if (user.isAdmin) return sql<boolean>`true`;
  return memberOfProjectSql(user, "read_cluster_agent");
}

/** As `agentsReadableSql` at any level: the projects `user` can see at all (guest and above). */
export function projectVisibleSql(user: AuthenticatedUser): RawBuilder<boolean> {
  if (user.isAdmin) return sql<boolean>`true`;
  return memberOfProjectSql(user, "read_project");
}

/**
 * As `agentsReadableSql` for any role-gated `action` (the standalone access source's
 * `projectsWhere`); an admin-only action matches nothing for non-admins.
 */
export function actionAllowedSql(user: AuthenticatedUser, action: RoleAction): RawBuilder<boolean> {
  if (user.isAdmin) return sql<boolean>`true`;
  return memberOfProjectSql(user, action);
}

/** `action` must be role-gated (not admin-only): non-admins are filtered by its least level. */
function memberOfProjectSql(user: AuthenticatedUser, action: RoleAction): RawBuilder<boolean> {
  const level = leastLevel(action);
  if (level === undefined) return sql<boolean>`false`;
  return sql<boolean>`exists (
    select 1 from read_model.memberships m
    where m.user_id = ${user.id} and m.access_level >= ${level}
      and ((m.source_type = 'project' and m.source_id = p.id)
        or (m.source_type = 'group' and m.source_id = any(p.traversal_ids)))
  )`;
}
