import { type RawBuilder, sql } from "kysely";
import type { AuthenticatedUser } from "../auth/authenticate.ts";
import { REQUIRED_LEVELS } from "./visible-resources.ts";

/**
 * A SQL condition on a configuration project row aliased `p`: true when `user` may read the
 * agents registered in it (admins always; others with Developer+ on the project or on any group
 * in its `traversal_ids`, GitLab's inherited membership). The same rule as `visibleProject` with
 * `REQUIRED_LEVELS.readAgents`, written for queries that filter many projects at once:
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
  return memberOfProjectSql(user, REQUIRED_LEVELS.readAgents);
}

/** As `agentsReadableSql` at any level: the projects `user` can see at all (guest and above). */
export function projectVisibleSql(user: AuthenticatedUser): RawBuilder<boolean> {
  if (user.isAdmin) return sql<boolean>`true`;
  return memberOfProjectSql(user, REQUIRED_LEVELS.seeProject);
}

function memberOfProjectSql(user: AuthenticatedUser, level: number): RawBuilder<boolean> {
  return sql<boolean>`exists (
    select 1 from read_model.memberships m
    where m.user_id = ${user.id} and m.access_level >= ${level}
      and ((m.source_type = 'project' and m.source_id = p.id)
        or (m.source_type = 'group' and m.source_id = any(p.traversal_ids)))
  )`;
}
