import { type Insertable, type Selectable, sql } from "kysely";
import { invalidField } from "../field-validation.ts";
import type { AuthzDatabase, AuthzExecutor } from "./schema.ts";

/**
 * Refuses a full path that a group or project already uses, compared case-insensitively
 * (GitLab's routes are one namespace for both): `400 {"message": {"path": ["has already been taken"]}}`.
 */
export async function assertFullPathFree(db: AuthzExecutor, fullPath: string): Promise<void> {
  if (await anyFullPathTaken(db, [fullPath.toLowerCase()])) {
    throw invalidField("path", ["has already been taken"]);
  }
}

/**
 * Inserts a group (or personal namespace) or a project whose full path (`full_path`,
 * `path_with_namespace`) is `fullPath`, once that path is free (`assertFullPathFree`), and
 * returns the new row.
 *
 * SQL: the two lookups of `assertFullPathFree`, then `insert into <table> (…) values (…) returning *`
 */
export async function insertAtFreePath<T extends "authz.groups" | "authz.projects">(
  db: AuthzExecutor,
  table: T,
  fullPath: string,
  values: Insertable<AuthzDatabase[T]>,
): Promise<Selectable<AuthzDatabase[T]>> {
  await assertFullPathFree(db, fullPath);
  return db.insertInto(table).values(values).returningAll().executeTakeFirstOrThrow();
}

/**
 * Whether a group or project uses one of `loweredPaths` (lower-case full paths). Reads the
 * `lower(full_path)` and `lower(path_with_namespace)` unique indexes:
 * `select 1 from authz.groups where lower(full_path) = any($1) union all select 1 from
 * authz.projects where lower(path_with_namespace) = any($1) limit 1`.
 */
export async function anyFullPathTaken(db: AuthzExecutor, loweredPaths: readonly string[]): Promise<boolean> {
  if (loweredPaths.length === 0) return false;
  const paths = sql<string>`any(${sql.val(loweredPaths)}::text[])`;
  const taken = await db
    .selectFrom("authz.groups")
    .select(sql<number>`1`.as("taken"))
    .where(sql<string>`lower(full_path)`, "=", paths)
    .unionAll(
      db
        .selectFrom("authz.projects")
        .select(sql<number>`1`.as("taken"))
        .where(sql<string>`lower(path_with_namespace)`, "=", paths),
    )
    .limit(1)
    .executeTakeFirst();
  return taken !== undefined;
}
