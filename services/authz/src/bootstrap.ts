import { digestToken, type User } from "@kasmap/contracts";
import { sql } from "kysely";
import { emitRegistryChange } from "./registry-events.ts";
import { toPersonalAccessToken, toUser } from "./store/entities.ts";
import { ensurePersonalNamespace, usersWithoutPersonalNamespace } from "./store/personal-namespaces.ts";
import type { UnitOfWork, UnitOfWorkRunner } from "./unit-of-work.ts";

export const ROOT_USERNAME = "root";
export const ROOT_NAME = "Administrator";
const ADMIN_TOKEN_NAME = "kasmap-admin-token";

/**
 * Ensures the administrator `root` exists with a personal access token whose SHA-256 equals
 * `digestToken(adminToken)`. Idempotent across restarts: nothing is written (and no event
 * published) when both are already in place. Only the digest is stored.
 */
export async function bootstrapAdmin(run: UnitOfWorkRunner, adminToken: string): Promise<void> {
  await run(null, async (unit) => {
    const root = await ensureRootUser(unit);
    await ensurePersonalNamespace(unit, root);
    await ensureAdminToken(unit, root, digestToken(adminToken));
  });
}

/**
 * Gives every user who has none a personal namespace (users created before Kasmap had them),
 * in one transaction; nothing is written when all have one, so every start may run it.
 */
export async function backfillPersonalNamespaces(run: UnitOfWorkRunner): Promise<void> {
  await run(null, async (unit) => {
    for (const user of await usersWithoutPersonalNamespace(unit.tx)) {
      await ensurePersonalNamespace(unit, user);
    }
  });
}

async function ensureRootUser(unit: UnitOfWork): Promise<User> {
  const existing = await unit.tx
    .selectFrom("authz.users")
    .selectAll()
    .where(sql<string>`lower(username)`, "=", ROOT_USERNAME)
    .executeTakeFirst();
  if (existing?.is_admin && existing.state === "active") return toUser(existing);
  const row = existing
    ? await unit.tx
        .updateTable("authz.users")
        .set({ is_admin: true, state: "active" })
        .where("id", "=", existing.id)
        .returningAll()
        .executeTakeFirstOrThrow()
    : await unit.tx
        .insertInto("authz.users")
        .values({ username: ROOT_USERNAME, name: ROOT_NAME, is_admin: true, state: "active" })
        .returningAll()
        .executeTakeFirstOrThrow();
  const user = toUser(row);
  emitRegistryChange(unit, "user", user);
  return user;
}

async function ensureAdminToken(unit: UnitOfWork, root: User, digest: string): Promise<void> {
  const existing = await unit.tx
    .selectFrom("authz.personal_access_tokens")
    .selectAll()
    .where("token_sha256", "=", digest)
    .executeTakeFirst();
  if (existing && existing.user_id !== root.id) {
    throw new Error("KASMAP_ADMIN_TOKEN is already the token of another user; choose another token");
  }
  if (existing && !existing.revoked) return;
  const row = existing
    ? await unit.tx
        .updateTable("authz.personal_access_tokens")
        .set({ revoked: false })
        .where("id", "=", existing.id)
        .returningAll()
        .executeTakeFirstOrThrow()
    : await unit.tx
        .insertInto("authz.personal_access_tokens")
        .values({
          user_id: root.id,
          name: ADMIN_TOKEN_NAME,
          token_sha256: digest,
          scopes: ["api"],
          revoked: false,
          expires_at: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
  emitRegistryChange(unit, "personal_access_token", toPersonalAccessToken(row));
}
