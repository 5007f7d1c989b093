import { ACCESS_LEVELS, KasmapError, NOT_FOUND, type User } from "@kasmap/contracts";
import {
  authorize,
  effectiveLevelOnGroup,
  effectiveLevelOnProject,
  NO_ACCESS,
  requireLevel,
} from "../permissions.ts";
import { findGroup, findProject, findUser } from "../store/entities.ts";
import { writeMembership } from "../store/memberships.ts";
import type { AuthzTx } from "../store/schema.ts";
import { actorCommand } from "./actor-command.ts";

/**
 * `membership.set`: as GitLab's members API, `admin_group_member` (Owner) on a group and
 * `admin_project_member` (Maintainer) on a project, inherited roles counting, or admin; on a
 * project, granting the Owner role or changing or removing an Owner's membership also needs
 * `manage_owners` (Owner), else `403 Forbidden`. `access_level: null` removes the membership;
 * removing one that does not exist is `404 Member Not Found`. With `existing: "refuse"`
 * (GitLab's add) an existing direct membership is `409 Member already exists`; with
 * `existing: "require"` (GitLab's change) a missing one is `404 Not found`.
 */
export const setMembership = actorCommand<"membership.set">(async (unit, actor, request) => {
  const level = await requireMemberAdmin(unit.tx, actor, request.source_type, request.source_id);
  const existing = await directMembershipLevel(unit.tx, request);
  if (request.existing !== "update") {
    // GitLab looks for the member before the user (lib/api/members.rb: POST's `conflict!`,
    // PUT's `find_by!`, whose RecordNotFound is `404 Not found`).
    if (request.existing === "refuse" && existing !== null) {
      throw new KasmapError("conflict", "Member already exists");
    }
    if (request.existing === "require" && existing === null) {
      throw new KasmapError("not_found_unnamed", "Member");
    }
  }
  const member = await findUser(unit.tx, request.user_id);
  if (!member) throw new KasmapError("not_found", NOT_FOUND.user);
  if (request.source_type === "project" && touchesOwner(request.access_level, existing)) {
    // After the member and user lookups, as GitLab's services check it (the API found both first).
    requireLevel(level, "manage_owners", NOT_FOUND.project);
  }
  const membership = await writeMembership(
    unit,
    { userId: member.id, sourceType: request.source_type, sourceId: request.source_id },
    request.access_level,
  );
  if (!membership) throw new KasmapError("not_found", "Member");
  return membership;
});

/**
 * Whether a change grants the Owner role or alters an Owner's direct membership (GitLab's
 * `adding_at_least_one_owner`, `prevent_upgrade_to_owner?`, `prevent_downgrade_from_owner?`,
 * app/services/members/create_service.rb and update_service.rb; removal: `destroy_project_member`).
 */
function touchesOwner(wanted: number | null, existing: number | null): boolean {
  return wanted === ACCESS_LEVELS.owner || existing === ACCESS_LEVELS.owner;
}

/** Checks the actor may manage the source's members; returns the actor's effective level there. */
async function requireMemberAdmin(
  tx: AuthzTx,
  actor: User,
  sourceType: "group" | "project",
  sourceId: number,
): Promise<number> {
  if (sourceType === "group") {
    const group = await findGroup(tx, sourceId);
    const level = group ? await effectiveLevelOnGroup(tx, actor, group) : NO_ACCESS;
    authorize(group, level, "admin_group_member", NOT_FOUND.group);
    return level;
  }
  const project = await findProject(tx, sourceId);
  const level = project ? await effectiveLevelOnProject(tx, actor, project) : NO_ACCESS;
  authorize(project, level, "admin_project_member", NOT_FOUND.project);
  return level;
}

/** The level of the user's own membership on the source (not one inherited), or null. */
async function directMembershipLevel(
  tx: AuthzTx,
  request: { source_type: "group" | "project"; source_id: number; user_id: number },
): Promise<number | null> {
  const row = await tx
    .selectFrom("authz.memberships")
    .select("access_level")
    .where("source_type", "=", request.source_type)
    .where("source_id", "=", request.source_id)
    .where("user_id", "=", request.user_id)
    .executeTakeFirst();
  return row === undefined ? null : Number(row.access_level);
}
