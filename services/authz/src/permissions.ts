import { mayPerform, type RoleAction } from "@kasmap/access-rules";
import { ACCESS_LEVELS, KasmapError, NOT_FOUND, type Project, type User } from "@kasmap/contracts";
import { sql } from "kysely";
import { findProject, findUser } from "./store/entities.ts";
import type { AuthzExecutor } from "./store/schema.ts";

/** A level an admin holds everywhere: admins may do anything. */
const ADMIN_LEVEL = ACCESS_LEVELS.owner;
/** No membership at all: the resource is invisible (private, as every Kasmap resource is). */
export const NO_ACCESS = 0;

export type NotFoundResource = (typeof NOT_FOUND)[keyof typeof NOT_FOUND];

/**
 * Decides a role check against `ROLE_POLICY` (`level` is the effective level: an admin's is
 * Owner, so role-gated actions only). A caller without any access may not learn that the
 * resource exists: GitLab answers 404 with the resource's name (`404 Project Not Found`). A
 * caller who sees it but lacks the role gets 403.
 */
export function requireLevel(level: number, action: RoleAction, resource: NotFoundResource): void {
  if (level < ACCESS_LEVELS.guest) throw new KasmapError("not_found", resource);
  if (!mayPerform(action, level, false)) throw new KasmapError("forbidden", "Forbidden");
}

/** `403 Forbidden` unless `user` may perform the admin-only `action`. */
export function requireAdminAction(user: User, action: RoleAction): void {
  if (!mayPerform(action, NO_ACCESS, user.is_admin)) throw new KasmapError("forbidden", "Forbidden");
}

/** The acting user, who must exist and be active; the gateway authenticated them already. */
export async function requireActiveUser(db: AuthzExecutor, userId: number): Promise<User> {
  const user = await findUser(db, userId);
  if (user?.state !== "active") throw new KasmapError("unauthorized", "401 Unauthorized");
  return user;
}

/**
 * The highest membership level of `userId` on a group (given its `traversal_ids`): group
 * memberships are inherited by subgroups, so any ancestor's membership counts.
 *
 * SQL: `select max(access_level) from authz.memberships where user_id = $1 and
 * source_type = 'group' and source_id = any($2::bigint[])`
 */
export async function membershipLevelOnGroup(
  db: AuthzExecutor,
  userId: number,
  traversalIds: readonly number[],
): Promise<number> {
  const row = await db
    .selectFrom("authz.memberships")
    .select((eb) => eb.fn.max("access_level").as("level"))
    .where("user_id", "=", userId)
    .where("source_type", "=", "group")
    .where("source_id", "=", sql<number>`any(${sql.val([...traversalIds])}::bigint[])`)
    .executeTakeFirst();
  return row?.level ?? NO_ACCESS;
}

/** The highest membership level on a project: its own membership or any of its groups'. */
export async function membershipLevelOnProject(
  db: AuthzExecutor,
  userId: number,
  project: { id: number; traversal_ids: readonly number[] },
): Promise<number> {
  const own = await db
    .selectFrom("authz.memberships")
    .select("access_level")
    .where("user_id", "=", userId)
    .where("source_type", "=", "project")
    .where("source_id", "=", project.id)
    .executeTakeFirst();
  const inherited = await membershipLevelOnGroup(db, userId, project.traversal_ids);
  return Math.max(own?.access_level ?? NO_ACCESS, inherited);
}

/** The level `user` acts with on a group: admins act as owners everywhere. */
export async function effectiveLevelOnGroup(
  db: AuthzExecutor,
  user: User,
  group: { traversal_ids: readonly number[] },
): Promise<number> {
  return user.is_admin ? ADMIN_LEVEL : membershipLevelOnGroup(db, user.id, group.traversal_ids);
}

/** The level `user` acts with on a project: admins act as owners everywhere. */
export async function effectiveLevelOnProject(
  db: AuthzExecutor,
  user: User,
  project: { id: number; traversal_ids: readonly number[] },
): Promise<number> {
  return user.is_admin ? ADMIN_LEVEL : membershipLevelOnProject(db, user.id, project);
}

/** `requireLevel`, then returns the resource, which exists whenever the level allows anything. */
export function authorize<T>(
  resource: T | undefined,
  level: number,
  action: RoleAction,
  name: NotFoundResource,
): T {
  requireLevel(level, action, name);
  if (resource === undefined) throw new KasmapError("not_found", name);
  return resource;
}

/** Loads a project the actor may perform `action` on (404 Project when they see nothing). */
export async function requireProjectAction(
  db: AuthzExecutor,
  actor: User,
  projectId: number,
  action: RoleAction,
): Promise<Project> {
  const project = await findProject(db, projectId);
  const level = project ? await effectiveLevelOnProject(db, actor, project) : NO_ACCESS;
  return authorize(project, level, action, NOT_FOUND.project);
}
