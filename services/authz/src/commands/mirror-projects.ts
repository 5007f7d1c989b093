import { type Group, KasmapError, NOT_FOUND } from "@kasmap/contracts";
import { sql } from "kysely";
import {
  insertIfAllNew,
  type MirrorBatchSteps,
  putMirrorBatch,
  stampedIds,
  storedNamespaces,
} from "../mirror-batch.ts";
import { mirrorClock } from "../mirror-clock.ts";
import {
  type MirroredNamespaceItem,
  NAMESPACE_BATCH_STEPS,
  putNamespaceItem,
} from "../mirror-namespace-batch.ts";
import { refuseUnmirrored, reresolveAgentsNaming } from "../mirror-namespaces.ts";
import { emitRegistryChange } from "../registry-events.ts";
import { publishMove } from "../registry-moves.ts";
import { findGroup, findNamespace, toProject } from "../store/entities.ts";
import { insertMirroredRows } from "../store/mirror-ids.ts";
import { assertFullPathFree } from "../store/paths.ts";
import { moveProject } from "../store/subtree-moves.ts";
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
    const namespaceChanged =
      request.namespace.kind === "user" && (await putNamespaceItem(unit, personalNamespaceOf(request)));
    const changed = await putProjectItem(unit, request);
    return { changed: namespaceChanged || changed };
  });

/**
 * `mirror.projects.put`: the projects of one GitLab page as `mirror.project.put` puts each, in
 * one transaction (`putMirrorBatch`): their personal namespaces first, then the projects. A
 * project whose personal namespace is refused is refused alike.
 */
export const putMirroredProjects: CommandHandler<"mirror.projects.put"> = (deps, request) =>
  deps.run(null, async (unit) => {
    const personal = new Map<number, MirroredNamespaceItem>();
    for (const project of request.projects) {
      if (project.namespace.kind === "user") personal.set(project.namespace.id, personalNamespaceOf(project));
    }
    const namespaces =
      personal.size === 0
        ? { changed: [], refused: [] }
        : await putMirrorBatch(unit, [...personal.values()], NAMESPACE_BATCH_STEPS);
    const namespaceRefusals = new Map(namespaces.refused.map((refusal) => [refusal.id, refusal]));
    const refused = request.projects.flatMap((project) => {
      const refusal =
        project.namespace.kind === "user" ? namespaceRefusals.get(project.namespace.id) : undefined;
      return refusal ? [{ ...refusal, id: project.id }] : [];
    });
    const refusedIds = new Set(refused.map((refusal) => refusal.id));
    const wanted = request.projects.filter((project) => !refusedIds.has(project.id));
    const projects =
      wanted.length === 0
        ? { changed: [], refused: [] }
        : await putMirrorBatch(unit, wanted, PROJECT_BATCH_STEPS);
    const changedNamespaces = new Set(namespaces.changed);
    const changedIds = new Set(projects.changed);
    return {
      changed: wanted
        .filter(
          (project) =>
            changedIds.has(project.id) ||
            (project.namespace.kind === "user" && changedNamespaces.has(project.namespace.id)),
        )
        .map((project) => project.id),
      refused: [...refused, ...projects.refused],
    };
  });

function personalNamespaceOf(request: Request): MirroredNamespaceItem {
  const { id, name, path } = request.namespace;
  return { id, kind: "user", name, path, description: null, parent_id: null };
}

/** The project's put after its personal namespace's: `mirror.project.put` without that part. */
async function putProjectItem(unit: UnitOfWork, request: Request): Promise<boolean> {
  return putProject(unit, request, await namespaceOf(unit, request));
}

async function namespaceOf(unit: UnitOfWork, request: Request): Promise<Group> {
  const namespace =
    request.namespace.kind === "user"
      ? await findNamespace(unit.tx, request.namespace.id)
      : await findGroup(unit.tx, request.namespace.id);
  if (!namespace) throw new KasmapError("not_found", NOT_FOUND.namespace);
  return namespace;
}

const PROJECT_BATCH_STEPS: MirrorBatchSteps<Request> = {
  /**
   * SQL: `update authz.projects p set mirrored_at = $now from unnest($ids, …) as w(…) join
   * authz.groups n on n.id = w.namespace_id and n.kind = w.kind where p.id = w.id and
   * p.mirrored_at is not null and (p.name, p.path, p.description, p.namespace_id, p.created_at)
   * is not distinct from (w.…) returning p.id`.
   */
  async stampUnchanged(unit, items, now) {
    const column = <T>(read: (item: Request) => T) => items.map(read);
    return stampedIds(
      unit.tx,
      sql<{ id: number }>`
      update authz.projects p set mirrored_at = ${now}
      from unnest(${column((i) => i.id)}::bigint[], ${column((i) => i.name)}::text[],
        ${column((i) => i.path)}::text[], ${column((i) => i.description)}::text[],
        ${column((i) => i.namespace.id)}::bigint[], ${column((i) => i.namespace.kind)}::text[],
        ${column((i) => i.created_at)}::timestamptz[])
        as w(id, name, path, description, namespace_id, kind, created_at)
        join authz.groups n on n.id = w.namespace_id and n.kind = w.kind
      where p.id = w.id and p.mirrored_at is not null
        and (p.name, p.path, p.description, p.namespace_id, p.created_at)
          is not distinct from (w.name, w.path, w.description, w.namespace_id, w.created_at)
      returning p.id
    `,
    );
  },

  async insertAllNew(unit, items, now) {
    const namespaces = await storedNamespaces(
      unit.tx,
      items.map((item) => item.namespace.id),
    );
    const rows = [];
    for (const item of items) {
      const namespace = namespaces.get(item.namespace.id);
      if (namespace?.kind !== item.namespace.kind) return false;
      rows.push(newProjectRow(item, namespace, now));
    }
    return insertIfAllNew(unit, "authz.projects", rows);
  },

  putOne: putProjectItem,
};

/** The row of a project mirrored for the first time, in `namespace` (GitLab's id). */
function newProjectRow(request: Request, namespace: Group, now: Date) {
  return {
    id: request.id,
    name: request.name,
    path: request.path,
    description: request.description,
    namespace_id: namespace.id,
    traversal_ids: namespace.traversal_ids,
    path_with_namespace: `${namespace.full_path}/${request.path}`,
    name_with_namespace: `${namespace.full_name} / ${request.name}`,
    creator_id: null,
    created_at: request.created_at,
    mirrored_at: now,
  };
}

async function putProject(unit: UnitOfWork, request: Request, namespace: Group): Promise<boolean> {
  const now = await mirrorClock(unit.tx);
  const existing = await unit.tx
    .selectFrom("authz.projects")
    .selectAll()
    .where("id", "=", request.id)
    .executeTakeFirst();
  if (!existing) {
    const row = newProjectRow(request, namespace, now);
    await assertFullPathFree(unit.tx, row.path_with_namespace);
    const [inserted] = await insertMirroredRows(unit.tx, "authz.projects", [row]);
    if (inserted) emitRegistryChange(unit, "project", toProject(inserted));
    await reresolveAgentsNaming(unit, [row.path_with_namespace]);
    return true;
  }
  refuseUnmirrored(existing, "project", request.id);
  const pathWithNamespace = `${namespace.full_path}/${request.path}`;
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
  await publishMove(unit, { groups: [], projects: [project] }, "project_moved");
  return true;
}
