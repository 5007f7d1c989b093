import { KasmapError, NOT_FOUND } from "@kasmap/contracts";
import { sql } from "kysely";
import { insertIfAllNew, type MirrorBatchSteps, stampedIds, storedNamespaces } from "./mirror-batch.ts";
import { type MirroredNamespace, newNamespaceRow, putMirroredNamespace } from "./mirror-namespaces.ts";
import { findGroup } from "./store/entities.ts";
import type { UnitOfWork } from "./unit-of-work.ts";

/** A namespace as a put names it: its parent by id (a group mirrored before it, else 404 Group). */
export type MirroredNamespaceItem = Omit<MirroredNamespace, "parent"> & { parent_id: number | null };

/** The single put of a namespace (`mirror.group.put`, a project's personal namespace). */
export async function putNamespaceItem(unit: UnitOfWork, item: MirroredNamespaceItem): Promise<boolean> {
  const { parent_id: parentId, ...wanted } = item;
  const parent = parentId === null ? null : await findGroup(unit.tx, parentId);
  if (parent === undefined) throw new KasmapError("not_found", NOT_FOUND.group);
  return putMirroredNamespace(unit, { ...wanted, parent });
}

/** Namespaces in a batch (`putMirrorBatch`): groups of `mirror.groups.put`, personal namespaces. */
export const NAMESPACE_BATCH_STEPS: MirrorBatchSteps<MirroredNamespaceItem> = {
  /**
   * SQL: `update authz.groups g set mirrored_at = $now from unnest($ids, $kinds, …) as w(…)
   * where g.id = w.id and g.mirrored_at is not null and g.kind = w.kind and (g.name, g.path,
   * g.description, g.parent_id, g.created_at) is not distinct from (w.…) returning g.id`; an
   * unknown creation time (a personal namespace seen through a project) matches the stored one.
   */
  async stampUnchanged(unit, items, now) {
    const column = <K extends keyof MirroredNamespaceItem>(key: K) => items.map((item) => item[key] ?? null);
    return stampedIds(
      unit.tx,
      sql<{ id: number }>`
      update authz.groups g set mirrored_at = ${now}
      from unnest(${column("id")}::bigint[], ${column("kind")}::text[], ${column("name")}::text[],
        ${column("path")}::text[], ${column("description")}::text[], ${column("parent_id")}::bigint[],
        ${column("created_at")}::timestamptz[])
        as w(id, kind, name, path, description, parent_id, created_at)
      where g.id = w.id and g.mirrored_at is not null and g.kind = w.kind
        and (g.name, g.path, g.description, g.parent_id, g.created_at)
          is not distinct from (w.name, w.path, w.description, w.parent_id, coalesce(w.created_at, g.created_at))
      returning g.id
    `,
    );
  },

  async insertAllNew(unit, items, now) {
    const parents = await storedNamespaces(
      unit.tx,
      items.flatMap((item) => item.parent_id ?? []),
    );
    const rows = [];
    for (const { parent_id: parentId, ...item } of items) {
      const parent = parentId === null ? null : parents.get(parentId);
      // A parent not stored before the batch (or earlier in it), or a personal namespace: the
      // single puts decide.
      if (parent === undefined || parent?.kind === "user") return false;
      rows.push(newNamespaceRow({ ...item, parent }, now));
    }
    return insertIfAllNew(unit, "authz.groups", rows);
  },

  putOne: putNamespaceItem,
};
