/** When the test registries' rows (users, tokens, groups, projects, agents) were created. */
export const REGISTRY_CREATED_AT = "2024-03-20T20:42:40.221Z";

/**
 * A `read_model.groups` row. Its parent is the id before its own (the last) in `traversal_ids`;
 * `name` and `full_name` default to `path` and `full_path`.
 */
export function groupRow(group: {
  id: number;
  path: string;
  traversal_ids: number[];
  full_path: string;
  name?: string;
  full_name?: string;
}) {
  return {
    id: group.id,
    name: group.name ?? group.path,
    path: group.path,
    description: null,
    parent_id: group.traversal_ids.at(-2) ?? null,
    traversal_ids: group.traversal_ids,
    full_path: group.full_path,
    full_name: group.full_name ?? group.full_path,
    created_at: REGISTRY_CREATED_AT,
  };
}

/**
 * A `read_model.projects` row in the namespace its `traversal_ids` end with; its `path` is the last
 * segment of `path_with_namespace`, which `name` defaults to.
 */
export function projectRow(project: {
  id: number;
  path_with_namespace: string;
  name_with_namespace: string;
  traversal_ids: readonly number[];
  name?: string;
  creator_id?: number | null;
}) {
  const path = project.path_with_namespace.split("/").at(-1) ?? "";
  return {
    id: project.id,
    name: project.name ?? path,
    path,
    description: null,
    namespace_id: project.traversal_ids.at(-1) ?? 0,
    traversal_ids: [...project.traversal_ids],
    path_with_namespace: project.path_with_namespace,
    name_with_namespace: project.name_with_namespace,
    creator_id: project.creator_id ?? null,
    created_at: REGISTRY_CREATED_AT,
  };
}
