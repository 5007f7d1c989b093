import { ACCESS_LEVELS, type Group, NOT_FOUND } from "@kasmap/contracts";
import { sql } from "kysely";
import {
  effectiveLevelOnGroup,
  membershipLevelOnGroup,
  NO_ACCESS,
  requireActiveUser,
  requireLevel,
} from "../permissions.ts";
import { emitRegistryChange } from "../registry-events.ts";
import { findGroup, toGroup } from "../store/entities.ts";
import { writeMembership } from "../store/memberships.ts";
import { assertFullPathFree } from "../store/paths.ts";
import type { CommandHandler } from "./command-deps.ts";

/**
 * `group.create`. A top-level group may be created by any active user (GitLab's default);
 * a subgroup needs Maintainer+ on its parent. The creator becomes an Owner of the new group
 * unless they already inherit Owner from an ancestor.
 */
export const createGroup: CommandHandler<"group.create"> = (deps, request) =>
  deps.run(request.actor_user_id, async (unit) => {
    const actor = await requireActiveUser(unit.tx, request.actor_user_id);
    let parent: Group | undefined;
    if (request.parent_id != null) {
      parent = await findGroup(unit.tx, request.parent_id);
      const level = parent ? await effectiveLevelOnGroup(unit.tx, actor, parent) : NO_ACCESS;
      requireLevel(level, "create_subgroup", NOT_FOUND.group);
    }
    const fullPath = parent ? `${parent.full_path}/${request.path}` : request.path;
    await assertFullPathFree(unit.tx, fullPath);
    const inserted = await unit.tx
      .insertInto("authz.groups")
      .values({
        name: request.name,
        path: request.path,
        description: request.description ?? null,
        parent_id: parent?.id ?? null,
        traversal_ids: parent?.traversal_ids ?? [],
        full_path: fullPath,
        full_name: parent ? `${parent.full_name} / ${request.name}` : request.name,
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    // traversal_ids ends with the group's own id, known only after the insert.
    const row = await unit.tx
      .updateTable("authz.groups")
      .set({ traversal_ids: sql<number[]>`traversal_ids || ${inserted.id}::int` })
      .where("id", "=", inserted.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    const group = toGroup(row);
    emitRegistryChange(unit, "group", group);
    const inherited = parent ? await membershipLevelOnGroup(unit.tx, actor.id, parent.traversal_ids) : 0;
    if (inherited < ACCESS_LEVELS.owner) {
      await writeMembership(
        unit,
        { userId: actor.id, sourceType: "group", sourceId: group.id },
        ACCESS_LEVELS.owner,
      );
    }
    return group;
  });
