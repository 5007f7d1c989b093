import { KasmapError } from "@kasmap/contracts";
import { type Insertable, type Selectable, sql } from "kysely";
import type { AuthzDatabase, AuthzExecutor } from "./schema.ts";

/**
 * Refuses a full path that a group or project already uses, compared case-insensitively
 * (GitLab's routes are one namespace for both): `400 {"message": {"path": ["has already been taken"]}}`.
 */
export async function assertFullPathFree(db: AuthzExecutor, fullPath: string): Promise<void> {
  const lowered = fullPath.toLowerCase();
  const group = await db
    .selectFrom("authz.groups")
    .select("id")
    .where(sql<string>`lower(full_path)`, "=", lowered)
    .executeTakeFirst();
  const project = await db
    .selectFrom("authz.projects")
    .select("id")
    .where(sql<string>`lower(path_with_namespace)`, "=", lowered)
    .executeTakeFirst();
  if (group || project) {
    throw new KasmapError("validation_failed", "path has already been taken", {
      fields: { path: ["has already been taken"] },
    });
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
