import { type Group, KasmapError, NOT_FOUND } from "@kasmap/contracts";
import { reresolveAgentConfig } from "../agent-authorizations.ts";
import { putMirroredNamespace, refuseUnmirrored, reresolveAgentsNaming } from "../mirror-namespaces.ts";
import { emitRegistryChange } from "../registry-events.ts";
import { findGroup, findNamespace, toProject } from "../store/entities.ts";
import { reserveMirroredId } from "../store/mirror-ids.ts";
import { assertFullPathFree, insertAtFreePath } from "../store/paths.ts";
import { agentsAffectedByMove, moveProject } from "../store/subtree-moves.ts";
import type { UnitOfWork } from "../unit-of-work.ts";
import type { CommandHandler } from "./command-deps.ts";

type Request = Parameters<CommandHandler<"mirror.project.put">>[1];

/**
 * `mirror.project.put`. In a group (mirrored first, else 404 Namespace), or in a personal
 * namespace, which is created or renamed here (`kind: "user"`, GitLab's namespace id, no owner:
 * GitLab's users are not mirrored). A new project is published as `project.create` publishes
 * it; a changed namespace, path or name as `project.transfer` does (the project with its new
 * paths, then its agents and the agents holding grants on it re-resolved, `project_moved`).
 */
export const putMirroredProject: CommandHandler<"mirror.project.put"> = (deps, request) =>
  deps.run(null, async (unit) => {
    const namespaceChanged = await mirrorPersonalNamespace(unit, request);
    const namespace = await namespaceOf(unit, request);
    const changed = await putProject(unit, request, namespace);
    return { changed: namespaceChanged || changed };
  });

async function mirrorPersonalNamespace(unit: UnitOfWork, request: Request): Promise<boolean> {
  if (request.namespace.kind !== "user") return false;
  return putMirroredNamespace(unit, {
    id: request.namespace.id,
    kind: "user",
    name: request.namespace.name,
    path: request.namespace.path,
    description: null,
    parent: null,
  });
}

async function namespaceOf(unit: UnitOfWork, request: Request): Promise<Group> {
  const namespace =
    request.namespace.kind === "user"
      ? await findNamespace(unit.tx, request.namespace.id)
      : await findGroup(unit.tx, request.namespace.id);
  if (!namespace) throw new KasmapError("not_found", NOT_FOUND.namespace);
  return namespace;
}

async function putProject(unit: UnitOfWork, request: Request, namespace: Group): Promise<boolean> {
  const pathWithNamespace = `${namespace.full_path}/${request.path}`;
  const now = new Date();
  const existing = await unit.tx
    .selectFrom("authz.projects")
    .selectAll()
    .where("id", "=", request.id)
    .executeTakeFirst();
  if (!existing) {
    const row = await insertAtFreePath(unit.tx, "authz.projects", pathWithNamespace, {
      id: request.id,
      name: request.name,
      path: request.path,
      description: request.description,
      namespace_id: namespace.id,
      traversal_ids: namespace.traversal_ids,
      path_with_namespace: pathWithNamespace,
      name_with_namespace: `${namespace.full_name} / ${request.name}`,
      creator_id: null,
      created_at: request.created_at,
      mirrored_at: now,
    });
    await reserveMirroredId(unit.tx, "authz.projects", request.id);
    emitRegistryChange(unit, "project", toProject(row));
    await reresolveAgentsNaming(unit, [pathWithNamespace]);
    return true;
  }
  refuseUnmirrored(existing, "project", request.id);
  const moved = existing.namespace_id !== namespace.id;
  const renamed = existing.path !== request.path || existing.name !== request.name;
  const described =
    existing.description !== request.description ||
    existing.created_at.getTime() !== new Date(request.created_at).getTime();
  const updated = await unit.tx
    .updateTable("authz.projects")
    .set({
      name: request.name,
      path: request.path,
      description: request.description,
      created_at: request.created_at,
      mirrored_at: now,
    })
    .where("id", "=", request.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  if (!moved && !renamed) {
    if (described) emitRegistryChange(unit, "project", toProject(updated));
    return described;
  }
  if (pathWithNamespace.toLowerCase() !== existing.path_with_namespace.toLowerCase()) {
    await assertFullPathFree(unit.tx, pathWithNamespace);
  }
  const project = await moveProject(unit.tx, toProject(updated), namespace);
  emitRegistryChange(unit, "project", project);
  const agents = await agentsAffectedByMove(unit.tx, {
    groupIds: [],
    projectIds: [project.id],
    newPaths: [project.path_with_namespace],
  });
  for (const agent of agents) await reresolveAgentConfig(unit, agent, "project_moved");
  return true;
}
