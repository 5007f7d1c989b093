import { KasmapError, NOT_FOUND, type User } from "@kasmap/contracts";
import { authorize, effectiveLevelOnGroup, effectiveLevelOnProject, NO_ACCESS } from "../permissions.ts";
import { findGroup, findProject, findUser } from "../store/entities.ts";
import { writeMembership } from "../store/memberships.ts";
import type { AuthzTx } from "../store/schema.ts";
import { actorCommand } from "./actor-command.ts";

/**
 * `membership.set`: Owner of the source (group or project, inherited ownership counts) or
 * admin. `access_level: null` removes the membership; removing one that does not exist is
 * `404 Member Not Found`. With `existing: "refuse"` (GitLab's add) an existing direct membership
 * is `409 Member already exists`; with `existing: "require"` (GitLab's change) a missing one is
 * `404 Not found`.
 */
export const setMembership = actorCommand<"membership.set">(async (unit, actor, request) => {
  await requireSourceOwner(unit.tx, actor, request.source_type, request.source_id);
  if (request.existing !== "update") {
    // GitLab looks for the member before the user (lib/api/members.rb: POST's `conflict!`,
    // PUT's `find_by!`, whose RecordNotFound is `404 Not found`).
    const exists = await directMembership(unit.tx, request);
    if (request.existing === "refuse" && exists) {
      throw new KasmapError("conflict", "Member already exists");
    }
    if (request.existing === "require" && !exists) {
      throw new KasmapError("not_found_unnamed", "Member");
    }
  }
  const member = await findUser(unit.tx, request.user_id);
  if (!member) throw new KasmapError("not_found", NOT_FOUND.user);
  const membership = await writeMembership(
    unit,
    { userId: member.id, sourceType: request.source_type, sourceId: request.source_id },
    request.access_level,
  );
  if (!membership) throw new KasmapError("not_found", "Member");
  return membership;
});

async function requireSourceOwner(
  tx: AuthzTx,
  actor: User,
  sourceType: "group" | "project",
  sourceId: number,
): Promise<void> {
  if (sourceType === "group") {
    const group = await findGroup(tx, sourceId);
    const level = group ? await effectiveLevelOnGroup(tx, actor, group) : NO_ACCESS;
    authorize(group, level, "admin_group_member", NOT_FOUND.group);
    return;
  }
  const project = await findProject(tx, sourceId);
  const level = project ? await effectiveLevelOnProject(tx, actor, project) : NO_ACCESS;
  authorize(project, level, "admin_project_member", NOT_FOUND.project);
}

/** The user's own membership on the source (not one inherited from an ancestor group). */
async function directMembership(
  tx: AuthzTx,
  request: { source_type: "group" | "project"; source_id: number; user_id: number },
): Promise<boolean> {
  const row = await tx
    .selectFrom("authz.memberships")
    .select("user_id")
    .where("source_type", "=", request.source_type)
    .where("source_id", "=", request.source_id)
    .where("user_id", "=", request.user_id)
    .executeTakeFirst();
  return row !== undefined;
}
