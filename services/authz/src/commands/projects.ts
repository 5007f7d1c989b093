import { mayPerform } from "@kasmap/access-rules";
import { ACCESS_LEVELS, KasmapError } from "@kasmap/contracts";
import { effectiveLevelOnGroup, NO_ACCESS } from "../permissions.ts";
import { emitRegistryChange } from "../registry-events.ts";
import { findNamespace, toProject } from "../store/entities.ts";
import { insertAtFreePath } from "../store/paths.ts";
import { ensurePersonalNamespace } from "../store/personal-namespaces.ts";
import { actorCommand } from "./actor-command.ts";
import { addCreatorMembership } from "./creator-membership.ts";

/**
 * `project.create` in a group or a personal namespace; without `namespace_id`, in the actor's
 * own personal namespace (GitLab's default). Needs `create_projects` (Developer+) on the
 * namespace: in a personal namespace only its owner (who holds Owner on it) or an admin
 * qualifies. A namespace that is missing, hidden from the actor or beyond their role is one and
 * the same model error, GitLab's `validate_create_permissions` (`namespace is not valid`), so the
 * answer tells nothing of its existence. The creator is made a Maintainer of the project unless
 * they already inherit Maintainer or more from the namespace (GitLab adds no redundant membership).
 */
export const createProject = actorCommand<"project.create">(async (unit, actor, request) => {
  const found =
    request.namespace_id === null
      ? await ensurePersonalNamespace(unit, actor)
      : await findNamespace(unit.tx, request.namespace_id);
  const level = found ? await effectiveLevelOnGroup(unit.tx, actor, found) : NO_ACCESS;
  if (!found || !mayPerform("create_projects", level, false)) throw namespaceIsNotValid();
  const namespace = found;
  const pathWithNamespace = `${namespace.full_path}/${request.path}`;
  const row = await insertAtFreePath(unit.tx, "authz.projects", pathWithNamespace, {
    name: request.name,
    path: request.path,
    description: request.description ?? null,
    namespace_id: namespace.id,
    traversal_ids: namespace.traversal_ids,
    path_with_namespace: pathWithNamespace,
    name_with_namespace: `${namespace.full_name} / ${request.name}`,
    creator_id: actor.id,
  });
  const project = toProject(row);
  emitRegistryChange(unit, "project", project);
  const source = { sourceType: "project", sourceId: project.id } as const;
  await addCreatorMembership(unit, actor, source, ACCESS_LEVELS.maintainer, namespace.traversal_ids);
  return project;
});

/** GitLab's `render_validation_error!` of `validate_create_permissions`: `{"message":{"namespace":["is not valid"]}}`. */
function namespaceIsNotValid(): KasmapError {
  return new KasmapError("validation_failed", "namespace is not valid", {
    fields: { namespace: ["is not valid"] },
  });
}
