import { mayPerform, type RoleAction } from "@kasmap/access-rules";
import { type Group, isKasmapError, KasmapError, NOT_FOUND, type User } from "@kasmap/contracts";
import {
  authorize,
  effectiveLevelOnGroup,
  NO_ACCESS,
  requireActiveUser,
  requireProjectAction,
} from "../permissions.ts";
import { publishMove } from "../registry-moves.ts";
import { findGroup, findNamespace } from "../store/entities.ts";
import { assertFullPathFree } from "../store/paths.ts";
import type { AuthzTx } from "../store/schema.ts";
import { moveGroupSubtree, moveProject } from "../store/subtree-moves.ts";
import type { CommandHandler } from "./command-deps.ts";

/** A group the actor may perform `action` on (`404 Group` when they hold nothing on it, else `403`). */
async function requireGroupAction(
  tx: AuthzTx,
  actor: User,
  groupId: number,
  action: RoleAction,
): Promise<Group> {
  const group = await findGroup(tx, groupId);
  const level = group ? await effectiveLevelOnGroup(tx, actor, group) : NO_ACCESS;
  return authorize(group, level, action, NOT_FOUND.group);
}

/**
 * GitLab's `Groups::TransferService` refusal, verbatim (`render_api_error!(service.error, 400)`:
 * `400 {"message":"Transfer failed: <reason>"}`, no `400 Bad request` prefix).
 */
function groupTransferFailed(reason: string): KasmapError {
  return new KasmapError("save_failed", `Transfer failed: ${reason}`);
}

/**
 * `Projects::TransferService`'s refusal, the error it adds to `new_namespace`; the gateway
 * renders it as lib/api/projects.rb does (`Failed to transfer project {:new_namespace=>[…]}`).
 */
function projectTransferRefused(reason: string): KasmapError {
  return new KasmapError("validation_failed", reason, { fields: { new_namespace: [reason] } });
}

/** Whether `fullPath` is taken, `assertFullPathFree`'s refusal as a boolean. */
async function fullPathTaken(tx: AuthzTx, fullPath: string): Promise<boolean> {
  try {
    await assertFullPathFree(tx, fullPath);
    return false;
  } catch (error) {
    if (isKasmapError(error, "validation_failed")) return true;
    throw error;
  }
}

/**
 * `group.transfer`, in the order of GitLab's `POST /groups/:id/transfer`: `admin_group` (Owner) on
 * the group (`404 Group` unseen, else `403`), then the new parent (`404 Group` when the actor holds
 * nothing on it or it does not exist), then `Groups::TransferService#ensure_allowed_transfer`'s
 * refusals with its wording: already a root group, already under that parent, `create_subgroup`
 * (Maintainer+) on the parent ("You don't have enough permissions."), a path taken there, a move
 * into its own subtree. Recomputes `traversal_ids` and paths of the whole subtree, publishes every
 * moved group and project, then re-resolves the configs of the agents the move can affect (cause
 * `group_moved`): GitLab drops entries outside the agent project's root group.
 */
export const transferGroup: CommandHandler<"group.transfer"> = (deps, request) =>
  deps.run(request.actor_user_id, async (unit) => {
    const actor = await requireActiveUser(unit.tx, request.actor_user_id);
    const group = await requireGroupAction(unit.tx, actor, request.group_id, "admin_group");
    const parent = request.parent_id === null ? null : await findGroup(unit.tx, request.parent_id);
    const parentLevel = parent ? await effectiveLevelOnGroup(unit.tx, actor, parent) : NO_ACCESS;
    if (parent === undefined || (parent !== null && parentLevel === NO_ACCESS)) {
      throw new KasmapError("not_found", NOT_FOUND.group);
    }
    if (parent === null && group.parent_id === null)
      throw groupTransferFailed("Group is already a root group.");
    if (parent !== null && parent.id === group.parent_id) {
      throw groupTransferFailed("Group is already associated to the parent group.");
    }
    // Any user may create a top-level group; a parent takes subgroups from its Maintainers.
    if (parent !== null && !mayPerform("create_subgroup", parentLevel, false)) {
      throw groupTransferFailed("You don't have enough permissions.");
    }
    if (await fullPathTaken(unit.tx, parent ? `${parent.full_path}/${group.path}` : group.path)) {
      throw groupTransferFailed("The parent group already has a subgroup or a project with the same path.");
    }
    if (parent?.traversal_ids.includes(group.id)) {
      throw groupTransferFailed("Cannot transfer group to one of its subgroup.");
    }
    const moved = await moveGroupSubtree(unit.tx, { group, parent });
    await publishMove(unit, moved, "group_moved");
    const result = moved.groups.find((g) => g.id === group.id);
    if (!result) throw new Error(`group ${group.id} was not moved with its subtree`);
    return result;
  });

/**
 * `project.transfer`: `change_namespace` (Owner) on the project (`404 Project` unseen, else
 * `403`), the target namespace (`404 Namespace` when the actor sees nothing of it), then
 * `Projects::TransferService`'s refusals in its order and wording: "Project is already in this
 * namespace.", `transfer_projects` (Maintainer+) on the target ("You don't have permission to
 * transfer projects into that namespace."), "Project with same name or path in target namespace
 * already exists". Re-resolves the project's agents and the agents holding grants on it
 * (`project_moved`).
 */
export const transferProject: CommandHandler<"project.transfer"> = (deps, request) =>
  deps.run(request.actor_user_id, async (unit) => {
    const actor = await requireActiveUser(unit.tx, request.actor_user_id);
    const project = await requireProjectAction(unit.tx, actor, request.project_id, "change_namespace");
    const found = await findNamespace(unit.tx, request.namespace_id);
    const level = found ? await effectiveLevelOnGroup(unit.tx, actor, found) : NO_ACCESS;
    if (!found || level === NO_ACCESS) throw new KasmapError("not_found", NOT_FOUND.namespace);
    const namespace = found;
    if (namespace.id === project.namespace_id)
      throw projectTransferRefused("Project is already in this namespace.");
    if (!mayPerform("transfer_projects", level, false)) {
      throw projectTransferRefused("You don't have permission to transfer projects into that namespace.");
    }
    if (await fullPathTaken(unit.tx, `${namespace.full_path}/${project.path}`)) {
      throw projectTransferRefused("Project with same name or path in target namespace already exists");
    }
    const moved = await moveProject(unit.tx, project, namespace);
    await publishMove(unit, { groups: [], projects: [moved] }, "project_moved");
    return moved;
  });
