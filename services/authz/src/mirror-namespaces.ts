import { type Group, KasmapError, type NamespaceKind } from "@kasmap/contracts";
import type { Insertable } from "kysely";
import { reresolveAgentConfig } from "./agent-authorizations.ts";
import { mirrorClock } from "./mirror-clock.ts";
import { emitRegistryChange } from "./registry-events.ts";
import { publishMove } from "./registry-moves.ts";
import { toGroup } from "./store/entities.ts";
import { insertMirroredRows } from "./store/mirror-ids.ts";
import { assertFullPathFree } from "./store/paths.ts";
import type { AuthzDatabase, AuthzExecutor } from "./store/schema.ts";
import { agentsAffectedByMove, moveGroupSubtree } from "./store/subtree-moves.ts";
import type { UnitOfWork } from "./unit-of-work.ts";

/** A namespace as GitLab has it now: a group, or a user's personal namespace (no parent). */
export type MirroredNamespace = {
  id: number;
  kind: NamespaceKind;
  name: string;
  path: string;
  description: string | null;
  parent: Group | null;
  /** undefined: not known (a user namespace seen through a project); kept as stored. */
  created_at?: string;
};

/**
 * Refuses to mirror onto a row Kasmap's own registry created: the same id in GitLab is another
 * thing, and overwriting it would silently merge the two.
 */
export function refuseUnmirrored(row: { mirrored_at: Date | null }, what: string, id: number): void {
  if (row.mirrored_at === null) {
    throw new KasmapError(
      "conflict",
      `${what} ${id} was created by Kasmap's own registry, not mirrored from GitLab; GitLab mode needs a registry without standalone ${what}s of the same ids`,
    );
  }
}

/**
 * Creates or updates a mirrored namespace, publishing what the standalone commands publish for
 * the same change: the new group; or, when its path, name or parent changed, the subtree move
 * of `group.transfer` (every group and project under it with its new paths) and the
 * re-resolution of the agents it can affect (`group_moved`). Stamps `mirrored_at` always;
 * returns whether anything subscribers see changed.
 */
export async function putMirroredNamespace(unit: UnitOfWork, wanted: MirroredNamespace): Promise<boolean> {
  const { parent } = wanted;
  const fullPath = parent ? `${parent.full_path}/${wanted.path}` : wanted.path;
  const now = await mirrorClock(unit.tx);
  const existing = await namespaceRow(unit.tx, wanted.id);
  if (!existing) {
    await assertFullPathFree(unit.tx, fullPath);
    const [row] = await insertMirroredRows(unit.tx, "authz.groups", [newNamespaceRow(wanted, now)]);
    if (row) emitRegistryChange(unit, "group", toGroup(row));
    await reresolveAgentsNaming(unit, [fullPath]);
    return true;
  }
  refuseUnmirrored(existing, "group", wanted.id);
  if (existing.kind !== wanted.kind) {
    throw new KasmapError(
      "conflict",
      `namespace ${wanted.id} is a ${existing.kind} namespace, not a ${wanted.kind}`,
    );
  }
  if (parent?.traversal_ids.includes(wanted.id)) {
    throw new KasmapError("bad_request", "cannot move a group into itself or its subgroups");
  }
  const moved = existing.parent_id !== (parent?.id ?? null);
  const renamed = existing.path !== wanted.path || existing.name !== wanted.name;
  const createdAt = wanted.created_at === undefined ? existing.created_at : new Date(wanted.created_at);
  const described =
    existing.description !== wanted.description || existing.created_at.getTime() !== createdAt.getTime();
  const updated = await unit.tx
    .updateTable("authz.groups")
    .set({
      name: wanted.name,
      path: wanted.path,
      description: wanted.description,
      created_at: createdAt,
      mirrored_at: now,
    })
    .where("id", "=", wanted.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  if (!moved && !renamed) {
    if (described) emitRegistryChange(unit, "group", toGroup(updated));
    return described;
  }
  if (fullPath.toLowerCase() !== existing.full_path.toLowerCase())
    await assertFullPathFree(unit.tx, fullPath);
  // The old full path and name locate the subtree; the new path and name build its new prefix.
  const before = { ...toGroup(existing), path: wanted.path, name: wanted.name };
  await publishMove(unit, await moveGroupSubtree(unit.tx, { group: before, parent }), "group_moved");
  return true;
}

/** The row of a namespace mirrored for the first time, under its parent (GitLab's id). */
export function newNamespaceRow(
  wanted: MirroredNamespace,
  now: Date,
): Insertable<AuthzDatabase["authz.groups"]> & { id: number } {
  const { parent } = wanted;
  return {
    id: wanted.id,
    kind: wanted.kind,
    owner_id: null,
    name: wanted.name,
    path: wanted.path,
    description: wanted.description,
    parent_id: parent?.id ?? null,
    traversal_ids: [...(parent?.traversal_ids ?? []), wanted.id],
    full_path: parent ? `${parent.full_path}/${wanted.path}` : wanted.path,
    full_name: parent ? `${parent.full_name} / ${wanted.name}` : wanted.name,
    ...(wanted.created_at === undefined ? {} : { created_at: wanted.created_at }),
    mirrored_at: now,
  };
}

async function namespaceRow(db: AuthzExecutor, id: number) {
  return db.selectFrom("authz.groups").selectAll().where("id", "=", id).executeTakeFirst();
}

/**
 * Agents whose config names a path that a new mirrored group or project now has: the entry,
 * dropped as not found until now, resolves (the mirror may meet a config before its target).
 */
export async function reresolveAgentsNaming(unit: UnitOfWork, paths: string[]): Promise<void> {
  const agents = await agentsAffectedByMove(unit.tx, { groupIds: [], projectIds: [], newPaths: paths });
  for (const agent of agents) await reresolveAgentConfig(unit, agent, "registry_changed");
}
