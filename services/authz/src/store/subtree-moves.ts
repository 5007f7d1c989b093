import type { Group, Project } from "@kasmap/contracts";
import { sql } from "kysely";
import { toGroup, toProject } from "./entities.ts";
import type { AuthzTx } from "./schema.ts";

export type GroupMove = {
  group: Group;
  /** The new parent, or null to make the group a root. */
  parent: Group | null;
};

/**
 * Moves a group with its whole subtree in two statements. Every group and project whose
 * `traversal_ids` contain the moved group's id (the GIN index answers that) gets the new
 * ancestor prefix spliced in front of the moved group's position, and the new full path/name
 * prefix in place of the old.
 *
 * SQL: `update authz.groups set traversal_ids = $prefix::int[] || traversal_ids[array_position(traversal_ids, $id):],
 * full_path = $newPath || substr(full_path, length($oldPath) + 1), … where traversal_ids @> array[$id]`
 */
export async function moveGroupSubtree(
  tx: AuthzTx,
  move: GroupMove,
): Promise<{ groups: Group[]; projects: Project[] }> {
  const { group, parent } = move;
  const prefix = parent?.traversal_ids ?? [];
  const newPath = parent ? `${parent.full_path}/${group.path}` : group.path;
  const newName = parent ? `${parent.full_name} / ${group.name}` : group.name;
  const contains = sql<boolean>`traversal_ids @> array[${group.id}]::int[]`;
  const tail = sql<
    number[]
  >`${sql.val(prefix)}::int[] || traversal_ids[array_position(traversal_ids, ${group.id}::int):]`;
  const groups = await tx
    .updateTable("authz.groups")
    .set({
      traversal_ids: tail,
      full_path: withPrefixReplaced("full_path", group.full_path, newPath),
      full_name: withPrefixReplaced("full_name", group.full_name, newName),
      parent_id: sql<
        number | null
      >`case when id = ${group.id} then ${parent?.id ?? null}::bigint else parent_id end`,
    })
    .where(contains)
    .returningAll()
    .execute();
  const projects = await tx
    .updateTable("authz.projects")
    .set({
      traversal_ids: tail,
      path_with_namespace: withPrefixReplaced("path_with_namespace", group.full_path, newPath),
      name_with_namespace: withPrefixReplaced("name_with_namespace", group.full_name, newName),
    })
    .where(contains)
    .returningAll()
    .execute();
  return {
    groups: groups
      .map(toGroup)
      .sort((a, b) => a.traversal_ids.length - b.traversal_ids.length || a.id - b.id),
    projects: projects.map(toProject).sort((a, b) => a.id - b.id),
  };
}

/**
 * `column` with its leading `from` replaced by `to`, as the moved group's old full path or name
 * is replaced by its new one under the whole subtree. Lengths in SQL: JavaScript counts UTF-16
 * units, PostgreSQL counts characters.
 *
 * SQL: `$to::text || substr(<column>, length($from::text) + 1)`
 */
function withPrefixReplaced(
  column: "full_path" | "full_name" | "path_with_namespace" | "name_with_namespace",
  from: string,
  to: string,
) {
  return sql<string>`${to}::text || substr(${sql.ref(column)}, length(${from}::text) + 1)`;
}

/** Moves one project into `namespace`. */
export async function moveProject(tx: AuthzTx, project: Project, namespace: Group): Promise<Project> {
  const row = await tx
    .updateTable("authz.projects")
    .set({
      namespace_id: namespace.id,
      traversal_ids: namespace.traversal_ids,
      path_with_namespace: `${namespace.full_path}/${project.path}`,
      name_with_namespace: `${namespace.full_name} / ${project.name}`,
    })
    .where("id", "=", project.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  return toProject(row);
}

/** What moved: ids, and the full paths the moved groups and projects have now. */
export type MovedEntities = { groupIds: number[]; projectIds: number[]; newPaths: string[] };

/**
 * Live agents a move can change: those whose configuration project moved, those holding a grant
 * on a moved group or project (`authz.agent_grant_targets`), and those whose config names a path
 * a moved entity now has (`authz.agent_config_paths`: a not-found entry may now resolve). Bounded
 * by the moved subtree, never a scan of every agent.
 */
export async function agentsAffectedByMove(
  tx: AuthzTx,
  moved: MovedEntities,
): Promise<Array<{ id: number; project_id: number }>> {
  const groupIds = sql.val(moved.groupIds);
  const projectIds = sql.val(moved.projectIds);
  const newPaths = sql.val(moved.newPaths.map((p) => p.toLowerCase()));
  return tx
    .selectFrom("authz.agents")
    .select(["id", "project_id"])
    .where("deleted_at", "is", null)
    .where((eb) =>
      eb.or([
        eb("project_id", "=", sql<number>`any(${projectIds}::bigint[])`),
        eb(
          "id",
          "in",
          eb
            .selectFrom("authz.agent_grant_targets")
            .select("agent_id")
            .where((t) =>
              t.or([
                t.and([
                  t("target_type", "=", "group"),
                  t("target_id", "=", sql<number>`any(${groupIds}::bigint[])`),
                ]),
                t.and([
                  t("target_type", "=", "project"),
                  t("target_id", "=", sql<number>`any(${projectIds}::bigint[])`),
                ]),
              ]),
            ),
        ),
        eb(
          "id",
          "in",
          eb
            .selectFrom("authz.agent_config_paths")
            .select("agent_id")
            .where("lower_path", "=", sql<string>`any(${newPaths}::text[])`),
        ),
      ]),
    )
    .orderBy("id")
    .execute();
}
