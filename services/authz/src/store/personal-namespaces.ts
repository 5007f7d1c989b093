import { ACCESS_LEVELS, type Group, PathSchema, type User } from "@kasmap/contracts";
import { sql } from "kysely";
import { emitRegistryChange } from "../registry-events.ts";
import type { UnitOfWork } from "../unit-of-work.ts";
import { toGroup, toUser } from "./entities.ts";
import { writeMembership } from "./memberships.ts";
import type { AuthzExecutor } from "./schema.ts";

/**
 * Personal namespaces (GitLab's `namespaces.type = 'User'`): one per user, a root of its own
 * (`traversal_ids = [id]`), path = username, name = the user's name.
 *
 * The owner holds an Owner membership on it, so every access check (here, in the gateway and in
 * the read model's queries) gives them Owner on its projects through the same inherited-group
 * rule as everywhere else (GitLab: the namespace owner is Owner of personal projects). Nobody
 * else can join it: group memberships refuse user namespaces (`findGroup`).
 */
export async function findPersonalNamespace(db: AuthzExecutor, userId: number): Promise<Group | undefined> {
  const row = await db
    .selectFrom("authz.groups")
    .selectAll()
    .where("kind", "=", "user")
    .where("owner_id", "=", userId)
    .executeTakeFirst();
  return row && toGroup(row);
}

/**
 * Creates `user`'s personal namespace and the owner's membership unless it exists (idempotent),
 * emitting both. The path is the username when free and a valid path; otherwise (users created
 * before personal namespaces existed whose name a group took) GitLab's `Uniquify` rule: the
 * cleaned name with the first free number appended (`alice1`, `alice2`, …).
 */
export async function ensurePersonalNamespace(unit: UnitOfWork, user: User): Promise<Group> {
  const existing = await findPersonalNamespace(unit.tx, user.id);
  if (existing) return existing;
  const path = await freeRootPath(unit.tx, cleanNamespacePath(user.username));
  const name = user.name.trim() === "" ? user.username : user.name;
  const inserted = await unit.tx
    .insertInto("authz.groups")
    .values({
      kind: "user",
      owner_id: user.id,
      name,
      path,
      description: null,
      parent_id: null,
      traversal_ids: [],
      full_path: path,
      full_name: name,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  // traversal_ids is the namespace's own id, known only after the insert.
  const row = await unit.tx
    .updateTable("authz.groups")
    .set({ traversal_ids: [inserted.id] })
    .where("id", "=", inserted.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  const namespace = toGroup(row);
  emitRegistryChange(unit, "group", namespace);
  await writeMembership(
    unit,
    { userId: user.id, sourceType: "group", sourceId: namespace.id },
    ACCESS_LEVELS.owner,
  );
  return namespace;
}

/** Users without a personal namespace (those created before they existed), by id. */
export async function usersWithoutPersonalNamespace(db: AuthzExecutor): Promise<User[]> {
  const rows = await db
    .selectFrom("authz.users as u")
    .selectAll("u")
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom("authz.groups as g")
            .select("g.id")
            .where("g.kind", "=", "user")
            .whereRef("g.owner_id", "=", "u.id"),
        ),
      ),
    )
    .orderBy("u.id")
    .execute();
  return rows.map(toUser);
}

/** A username as a namespace path: characters GitLab's path rule refuses become `-`. */
export function cleanNamespacePath(username: string): string {
  if (PathSchema.safeParse(username).success) return username;
  const cleaned = username
    .replace(/[^a-zA-Z0-9_.-]/g, "-")
    .replace(/^[.-]+/, "")
    .replace(/\.(git|atom)$/, "");
  return PathSchema.safeParse(cleaned).success ? cleaned : `user-${cleaned}`.slice(0, 255);
}

async function freeRootPath(db: AuthzExecutor, base: string): Promise<string> {
  for (let n = 0; ; n++) {
    const candidate = n === 0 ? base : `${base}${n}`;
    const taken = await db
      .selectFrom("authz.groups")
      .select("id")
      .where(sql<string>`lower(full_path)`, "=", candidate.toLowerCase())
      .executeTakeFirst();
    if (!taken) return candidate;
  }
}
