import { mayPerform } from "@kasmap/access-rules";
import {
  digestToken,
  generateToken,
  KasmapError,
  NOT_FOUND,
  PathSchema,
  TOKEN_PREFIXES,
} from "@kasmap/contracts";
import { sql } from "kysely";
import { invalidField, requireFieldFormat } from "../field-validation.ts";
import { NO_ACCESS, requireAdminAction } from "../permissions.ts";
import { emitRegistryChange } from "../registry-events.ts";
import { findUser, toPersonalAccessToken, toUser } from "../store/entities.ts";
import { ensurePersonalNamespace } from "../store/personal-namespaces.ts";
import { actorCommand } from "./actor-command.ts";
import { withoutDigest } from "./without-digest.ts";

/**
 * `user.create`: admins only. Usernames are unique case-insensitively (another user's is
 * `409 Username has already been taken`) and, being the path of the user's personal namespace
 * (created in the same transaction), follow GitLab's path rule and cannot equal a top-level
 * group's path (`400 {"message":{"username":["has already been taken"]}}`).
 */
export const createUser = actorCommand<"user.create">(async (unit, actor, request) => {
  requireAdminAction(actor, "admin_all_resources");
  const taken = await unit.tx
    .selectFrom("authz.users")
    .select("id")
    .where(sql<string>`lower(username)`, "=", request.username.toLowerCase())
    .executeTakeFirst();
  const namespaceTaken = await unit.tx
    .selectFrom("authz.groups")
    .select("id")
    .where(sql<string>`lower(full_path)`, "=", request.username.toLowerCase())
    .executeTakeFirst();
  // GitLab's `conflict!('Username has already been taken')` (lib/api/users.rb) for another
  // user's name; a group's path is the model's own error (`namespace_uniq`), a 400.
  if (taken) throw new KasmapError("conflict", "Username has already been taken");
  if (namespaceTaken) throw invalidField("username", ["has already been taken"]);
  requireFieldFormat("username", PathSchema, request.username);
  const row = await unit.tx
    .insertInto("authz.users")
    .values({ username: request.username, name: request.name, is_admin: request.is_admin, state: "active" })
    .returningAll()
    .executeTakeFirstOrThrow();
  const user = toUser(row);
  emitRegistryChange(unit, "user", user);
  await ensurePersonalNamespace(unit, user);
  return user;
});

/**
 * `personal_access_token.create`: a user for themselves, an admin for anyone. Another user's
 * existence is not revealed to non-admins (404 User). The plaintext is in the reply only.
 */
export const createPersonalAccessToken = actorCommand<"personal_access_token.create">(
  async (unit, actor, request) => {
    if (request.user_id !== actor.id && !mayPerform("admin_all_resources", NO_ACCESS, actor.is_admin))
      throw new KasmapError("not_found", NOT_FOUND.user);
    const owner = await findUser(unit.tx, request.user_id);
    if (!owner) throw new KasmapError("not_found", NOT_FOUND.user);
    const plaintext = generateToken(TOKEN_PREFIXES.personalAccess);
    const row = await unit.tx
      .insertInto("authz.personal_access_tokens")
      .values({
        user_id: owner.id,
        name: request.name,
        token_sha256: digestToken(plaintext),
        scopes: request.scopes,
        revoked: false,
        expires_at: request.expires_at,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const token = toPersonalAccessToken(row);
    emitRegistryChange(unit, "personal_access_token", token);
    return { token: withoutDigest(token), plaintext };
  },
);

/**
 * `personal_access_token.revoke`: the token's owner or an admin. Another user's token answers
 * as a missing one (`404`), so ids cannot be probed; a revoked token stays revoked (no event).
 */
export const revokePersonalAccessToken = actorCommand<"personal_access_token.revoke">(
  async (unit, actor, request) => {
    const row = await unit.tx
      .selectFrom("authz.personal_access_tokens")
      .selectAll()
      .where("id", "=", request.token_id)
      .executeTakeFirst();
    if (!row || (row.user_id !== actor.id && !mayPerform("admin_all_resources", NO_ACCESS, actor.is_admin))) {
      throw new KasmapError("not_found", NOT_FOUND.personalAccessToken);
    }
    const revoked = row.revoked
      ? row
      : await unit.tx
          .updateTable("authz.personal_access_tokens")
          .set({ revoked: true })
          .where("id", "=", row.id)
          .returningAll()
          .executeTakeFirstOrThrow();
    const token = toPersonalAccessToken(revoked);
    if (!row.revoked) emitRegistryChange(unit, "personal_access_token", token);
    return withoutDigest(token);
  },
);

/**
 * `user.set_state`: admins block and unblock users (GitLab's `POST /users/:id/block|unblock`).
 * A blocked user's tokens and job tokens stop working at the gateway; their memberships stay,
 * so unblocking restores exactly what they had. An admin cannot block themselves.
 */
export const setUserState = actorCommand<"user.set_state">(async (unit, actor, request) => {
  requireAdminAction(actor, "admin_all_resources");
  const target = await findUser(unit.tx, request.user_id);
  if (!target) throw new KasmapError("not_found", NOT_FOUND.user);
  if (target.id === actor.id && request.state === "blocked") throw new KasmapError("forbidden", "Forbidden");
  if (target.state === request.state) return { user: target, changed: false };
  const row = await unit.tx
    .updateTable("authz.users")
    .set({ state: request.state })
    .where("id", "=", target.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  const user = toUser(row);
  emitRegistryChange(unit, "user", user);
  return { user, changed: true };
});
