import type { RegistryLookup, ResolvedNamespace } from "@kasmap/access-rules";
import { sql } from "kysely";
import type { ConfigPaths } from "../config-paths.ts";
import type { AuthzExecutor } from "./schema.ts";

/**
 * Loads the projects and groups a config names, in two indexed queries, into the synchronous
 * lookup `resolveAgentConfig` takes. Paths arrive lower-cased and are matched against
 * `lower(full_path)` (the unique indexes), as GitLab matches case-insensitively.
 */
export async function loadRegistryLookup(db: AuthzExecutor, paths: ConfigPaths): Promise<RegistryLookup> {
  const projects = new Map<string, ResolvedNamespace>();
  const groups = new Map<string, ResolvedNamespace>();
  if (paths.projects.length > 0) {
    const rows = await db
      .selectFrom("authz.projects")
      .select(["id", "traversal_ids", sql<string>`lower(path_with_namespace)`.as("lower_path")])
      .where(
        sql<string>`lower(path_with_namespace)`,
        "=",
        sql<string>`any(${sql.val(paths.projects)}::text[])`,
      )
      .execute();
    for (const row of rows) projects.set(row.lower_path, { id: row.id, traversal_ids: row.traversal_ids });
  }
  if (paths.groups.length > 0) {
    const rows = await db
      .selectFrom("authz.groups")
      .select(["id", "kind", "traversal_ids", sql<string>`lower(full_path)`.as("lower_path")])
      .where(sql<string>`lower(full_path)`, "=", sql<string>`any(${sql.val(paths.groups)}::text[])`)
      .execute();
    // Personal namespaces are returned with their kind: resolveAgentConfig drops them (not-found).
    for (const row of rows) {
      groups.set(row.lower_path, { id: row.id, traversal_ids: row.traversal_ids, kind: row.kind });
    }
  }
  return {
    projectByFullPath: (path) => projects.get(path) ?? null,
    groupByFullPath: (path) => groups.get(path) ?? null,
  };
}
