import { ACCESS_LEVELS, NOT_FOUND } from "@kasmap/contracts";
import {
  authorize,
  effectiveLevelOnGroup,
  membershipLevelOnGroup,
  NO_ACCESS,
  requireActiveUser,
} from "../permissions.ts";
import { emitRegistryChange } from "../registry-events.ts";
import { findNamespace, toProject } from "../store/entities.ts";
import { writeMembership } from "../store/memberships.ts";
import { assertFullPathFree } from "../store/paths.ts";
import { ensurePersonalNamespace } from "../store/personal-namespaces.ts";
import type { CommandHandler } from "./command-deps.ts";

/**
 * `project.create` in a group or a personal namespace; without `namespace_id`, in the actor's
 * own personal namespace (GitLab's default). Needs Maintainer+ on the namespace: in a personal
 * namespace only its owner (who holds Owner on it) or an admin qualifies; anyone else sees
 * `404 Namespace Not Found`. The creator is made a Maintainer of the project unless they already
 * inherit Maintainer or more from the namespace (GitLab adds no redundant membership).
 */
export const createProject: CommandHandler<"project.create"> = (deps, request) =>
  deps.run(request.actor_user_id, async (unit) => {
    const actor = await requireActiveUser(unit.tx, request.actor_user_id);
    const found =
      request.namespace_id === null
        ? await ensurePersonalNamespace(unit, actor)
        : await findNamespace(unit.tx, request.namespace_id);
    const level = found ? await effectiveLevelOnGroup(unit.tx, actor, found) : NO_ACCESS;
    const namespace = authorize(found, level, "create_projects", NOT_FOUND.namespace);
    const pathWithNamespace = `${namespace.full_path}/${request.path}`;
    await assertFullPathFree(unit.tx, pathWithNamespace);
    const row = await unit.tx
      .insertInto("authz.projects")
      .values({
        name: request.name,
        path: request.path,
        description: request.description ?? null,
        namespace_id: namespace.id,
        traversal_ids: namespace.traversal_ids,
        path_with_namespace: pathWithNamespace,
        name_with_namespace: `${namespace.full_name} / ${request.name}`,
        creator_id: actor.id,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const project = toProject(row);
    emitRegistryChange(unit, "project", project);
    const inherited = await membershipLevelOnGroup(unit.tx, actor.id, namespace.traversal_ids);
    if (inherited < ACCESS_LEVELS.maintainer) {
      await writeMembership(
        unit,
        { userId: actor.id, sourceType: "project", sourceId: project.id },
        ACCESS_LEVELS.maintainer,
      );
    }
    return project;
  });
