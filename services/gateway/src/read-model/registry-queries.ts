import type { ReadModelDatabase } from "@kasmap/db";
import { type Kysely, type Selectable, sql } from "kysely";
import type { ResourceId } from "./resource-id.ts";

export type ReadModel = Kysely<ReadModelDatabase>;
export type ProjectRow = Selectable<ReadModelDatabase["read_model.projects"]>;
/** A project row as `to_jsonb(p)` returns it inside a larger row: its time as an ISO string. */
export type ProjectJsonRow = Omit<ProjectRow, "created_at"> & { created_at: string };
export type GroupRow = Selectable<ReadModelDatabase["read_model.groups"]>;
export type UserRow = Selectable<ReadModelDatabase["read_model.users"]>;

/**
 * `select * from read_model.projects where id = $1` or, for a path,
 * `where lower(path_with_namespace) = lower($1)` (GitLab matches full paths case-insensitively;
 * the unique index `projects_path_lower` answers it).
 */
export async function findProject(db: ReadModel, id: ResourceId): Promise<ProjectRow | null> {
  const query = db.selectFrom("read_model.projects").selectAll();
  const row =
    id.kind === "id"
      ? await query.where("id", "=", id.id).executeTakeFirst()
      : await query
          .where(sql<string>`lower(path_with_namespace)`, "=", id.path.toLowerCase())
          .executeTakeFirst();
  return row ?? null;
}

/** The projects cache's key of a project id: `id:<n>`. */
export function projectIdCacheKey(id: number): string {
  return `id:${id}`;
}

/** The projects cache's key of a project id or full path: `id:<n>` or `path:<lower-case full path>`. */
export function projectCacheKey(id: ResourceId): string {
  return id.kind === "id" ? projectIdCacheKey(id.id) : `path:${id.path.toLowerCase()}`;
}

/** The project of a projects cache key (`projectCacheKey`), as `findProject`. */
export function projectOfCacheKey(db: ReadModel, key: string): Promise<ProjectRow | null> {
  if (key.startsWith("id:")) return findProject(db, { kind: "id", id: Number(key.slice(3)) });
  if (key.startsWith("path:")) return findProject(db, { kind: "path", path: key.slice(5) });
  return Promise.reject(new Error(`not a projects cache key: ${key.slice(0, 32)}`));
}

/** As `findProject`, on `read_model.groups` by id or `lower(full_path)`. */
export async function findGroup(db: ReadModel, id: ResourceId): Promise<GroupRow | null> {
  const query = db.selectFrom("read_model.groups").selectAll();
  const row =
    id.kind === "id"
      ? await query.where("id", "=", id.id).executeTakeFirst()
      : await query.where(sql<string>`lower(full_path)`, "=", id.path.toLowerCase()).executeTakeFirst();
  return row ?? null;
}

export async function findUser(db: ReadModel, userId: number): Promise<UserRow | null> {
  const row = await db.selectFrom("read_model.users").selectAll().where("id", "=", userId).executeTakeFirst();
  return row ?? null;
}

/**
 * A personal access token's row by id, without its digest. `expires_at` is `YYYY-MM-DD`.
 *
 * SQL: `select id, user_id, name, scopes, revoked, expires_at::text, created_at from
 * read_model.personal_access_tokens where id = $1`
 */
export async function findPersonalAccessToken(db: ReadModel, tokenId: number) {
  const row = await db
    .selectFrom("read_model.personal_access_tokens")
    .select(["id", "user_id", "name", "scopes", "revoked", "created_at"])
    .select(sql<string | null>`expires_at::text`.as("expires_at"))
    .where("id", "=", tokenId)
    .executeTakeFirst();
  return row ?? null;
}
