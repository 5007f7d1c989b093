import { ACCESS_LEVELS, type AgentGrantSet, type UserAccessConfig } from "@kasmap/contracts";

/** Registry `User` objects fit. */
export interface UserAccessSubject {
  id: number;
  is_admin: boolean;
  state: "active" | "blocked";
}

/** Registry `Membership` objects fit; `access_level: null` is a removed membership. */
export interface MembershipFact {
  user_id: number;
  source_type: "group" | "project";
  source_id: number;
  access_level: number | null;
}

/** `traversal_ids` (root first) of a group (ending with itself) or a project's namespace group. */
export interface PlacementLookup {
  groupTraversalIds(groupId: number): readonly number[] | null;
  projectTraversalIds(projectId: number): readonly number[] | null;
}

export type UserAccessDecision =
  | {
      allowed: true;
      target_type: "project" | "group";
      target_id: number;
      /** The user's effective level on the target; null when allowed only as an administrator. */
      access_level: number | null;
      config: UserAccessConfig;
    }
  | { allowed: false; reason: string };

/**
 * May `user` use the agent whose grant set is `grants` through `user_access`? GitLab's
 * `UserAccess::Finder`: Developer (30) or higher on a listed project (direct, or inherited from
 * the project's group or any ancestor group), or a direct group membership of Developer+ on a
 * listed group or any of its ancestors (group membership is inherited downward; project
 * memberships never reach groups).
 *
 * Administrators: allowed on every listed target without membership, as GitLab's finder does
 * for `can_admin_all_resources?` (`for_admin`). Kasmap has no admin mode, so `is_admin` alone
 * decides. Blocked users are never allowed (GitLab does not let them sign in).
 *
 * @param project when given, only grants that reach this project count (its own project row,
 *   or group rows for its group or an ancestor), like the finder's `project:` filter.
 */
export function userAccessAllowed(
  user: UserAccessSubject,
  project: { id: number; traversal_ids: readonly number[] } | null,
  grants: AgentGrantSet,
  memberships: readonly MembershipFact[],
  placements: PlacementLookup,
): UserAccessDecision {
  if (user.state !== "active") return { allowed: false, reason: "the user is blocked" };
  const projectRows = grants.user_access.projects.filter((row) => !project || row.project_id === project.id);
  const groupRows = grants.user_access.groups.filter(
    (row) => !project || project.traversal_ids.includes(row.group_id),
  );
  if (projectRows.length + groupRows.length === 0) {
    const scope = project ? ` that reaches project ${project.id}` : "";
    return { allowed: false, reason: `the agent's user_access lists no project or group${scope}` };
  }
  const mine = memberships.filter((m) => m.user_id === user.id && m.access_level !== null);
  const level = (source: "group" | "project", ids: readonly number[]) =>
    maxLevel(mine.filter((m) => m.source_type === source && ids.includes(m.source_id)));

  for (const row of projectRows) {
    const groups = placements.projectTraversalIds(row.project_id) ?? [];
    const access = Math.max(level("project", [row.project_id]), level("group", groups));
    if (user.is_admin || access >= ACCESS_LEVELS.developer) {
      return granted(
        "project",
        row.project_id,
        access >= ACCESS_LEVELS.developer ? access : null,
        row.config,
      );
    }
  }
  for (const row of groupRows) {
    const access = level("group", placements.groupTraversalIds(row.group_id) ?? [row.group_id]);
    if (user.is_admin || access >= ACCESS_LEVELS.developer) {
      return granted("group", row.group_id, access >= ACCESS_LEVELS.developer ? access : null, row.config);
    }
  }
  return {
    allowed: false,
    reason: "the user is not a Developer or higher on any project or group the agent lists",
  };
}

function maxLevel(memberships: readonly MembershipFact[]): number {
  return memberships.reduce((max, m) => Math.max(max, m.access_level ?? 0), 0);
}

function granted(
  target_type: "project" | "group",
  target_id: number,
  access_level: number | null,
  config: UserAccessConfig,
): UserAccessDecision {
  return { allowed: true, target_type, target_id, access_level, config };
}
