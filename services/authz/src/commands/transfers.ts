import type { RoleAction } from "@kasmap/access-rules";
import { type Group, KasmapError, NOT_FOUND, type User } from "@kasmap/contracts";
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

/**
 * A group (`NOT_FOUND.group`) or, as a project's target, a namespace of either kind
 * (`NOT_FOUND.namespace`): a personal namespace takes projects only, from its owner or an admin
 * (nobody else holds a level on it).
 */
async function requireGroupAction(
  tx: AuthzTx,
  actor: User,
  groupId: number,
  action: RoleAction,
  resource: typeof NOT_FOUND.group | typeof NOT_FOUND.namespace,
): Promise<Group> {
  const group =
    resource === NOT_FOUND.namespace ? await findNamespace(tx, groupId) : await findGroup(tx, groupId);
  const level = group ? await effectiveLevelOnGroup(tx, actor, group) : NO_ACCESS;
  return authorize(group, level, action, resource);
}

/**
 * `group.transfer`: Owner of the group and Maintainer+ on the new parent (admins always).
 * Recomputes `traversal_ids` and paths of the whole subtree, publishes every moved group and
 * project, then re-resolves the configs of the agents the move can affect (cause `group_moved`):
 * GitLab drops entries outside the agent project's root group.
 */
export const transferGroup: CommandHandler<"group.transfer"> = (deps, request) =>
  deps.run(request.actor_user_id, async (unit) => {
    const actor = await requireActiveUser(unit.tx, request.actor_user_id);
    const group = await requireGroupAction(unit.tx, actor, request.group_id, "admin_group", NOT_FOUND.group);
    const parent =
      request.parent_id === null
        ? null
        : await requireGroupAction(unit.tx, actor, request.parent_id, "create_subgroup", NOT_FOUND.group);
    if ((parent?.id ?? null) === group.parent_id) {
      throw new KasmapError("bad_request", "Transfer failed: group is already in that place");
    }
    if (parent?.traversal_ids.includes(group.id)) {
      throw new KasmapError(
        "bad_request",
        "Transfer failed: cannot move a group into itself or its subgroups",
      );
    }
    await assertFullPathFree(unit.tx, parent ? `${parent.full_path}/${group.path}` : group.path);
    const moved = await moveGroupSubtree(unit.tx, { group, parent });
    await publishMove(unit, moved, "group_moved");
    const result = moved.groups.find((g) => g.id === group.id);
    if (!result) throw new Error(`group ${group.id} was not moved with its subtree`);
    return result;
  });

/**
 * `project.transfer`: Owner of the project and Maintainer+ on the target namespace (admins
 * always). Re-resolves the project's agents and the agents holding grants on it (`project_moved`).
 */
export const transferProject: CommandHandler<"project.transfer"> = (deps, request) =>
  deps.run(request.actor_user_id, async (unit) => {
    const actor = await requireActiveUser(unit.tx, request.actor_user_id);
    const project = await requireProjectAction(unit.tx, actor, request.project_id, "change_namespace");
    const namespace = await requireGroupAction(
      unit.tx,
      actor,
      request.namespace_id,
      "create_projects",
      NOT_FOUND.namespace,
    );
    if (namespace.id === project.namespace_id) {
      throw new KasmapError("bad_request", "Project is already in this namespace");
    }
    await assertFullPathFree(unit.tx, `${namespace.full_path}/${project.path}`);
    const moved = await moveProject(unit.tx, project, namespace);
    await publishMove(unit, { groups: [], projects: [moved] }, "project_moved");
    return moved;
  });
