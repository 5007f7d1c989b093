import { ACCESS_LEVELS, type Group, NOT_FOUND } from "@kasmap/contracts";
import { sql } from "kysely";
import { effectiveLevelOnGroup, NO_ACCESS, requireLevel } from "../permissions.ts";
import { emitRegistryChange } from "../registry-events.ts";
import { findGroup, toGroup } from "../store/entities.ts";
import { insertAtFreePath } from "../store/paths.ts";
import { actorCommand } from "./actor-command.ts";
import { addCreatorMembership } from "./creator-membership.ts";

/**
 * `group.create`. A top-level group may be created by any active user (GitLab's default);
 * a subgroup needs Maintainer+ on its parent. The creator becomes an Owner of the new group
 * unless they already inherit Owner from an ancestor.
 */
export const createGroup = actorCommand<"group.create">(async (unit, actor, request) => {
  let parent: Group | undefined;
  if (request.parent_id != null) {
    parent = await findGroup(unit.tx, request.parent_id);
    const level = parent ? await effectiveLevelOnGroup(unit.tx, actor, parent) : NO_ACCESS;
    requireLevel(level, "create_subgroup", NOT_FOUND.group);
  }
  const fullPath = parent ? `${parent.full_path}/${request.path}` : request.path;
  const inserted = await insertAtFreePath(unit.tx, "authz.groups", fullPath, {
    name: request.name,
    path: request.path,
    description: request.description ?? null,
    parent_id: parent?.id ?? null,
    traversal_ids: parent?.traversal_ids ?? [],
    full_path: fullPath,
    full_name: parent ? `${parent.full_name} / ${request.name}` : request.name,
  });
  // traversal_ids ends with the group's own id, known only after the insert.
  const row = await unit.tx
    .updateTable("authz.groups")
    .set({ traversal_ids: sql<number[]>`traversal_ids || ${inserted.id}::int` })
    .where("id", "=", inserted.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  const group = toGroup(row);
  emitRegistryChange(unit, "group", group);
  const source = { sourceType: "group", sourceId: group.id } as const;
  await addCreatorMembership(unit, actor, source, ACCESS_LEVELS.owner, parent?.traversal_ids ?? []);
  return group;
});
