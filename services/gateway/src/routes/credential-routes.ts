import { KasmapError, NOT_FOUND } from "@kasmap/contracts";
import type { FastifyInstance } from "fastify";
import type { Principal } from "../auth/authenticate.ts";
import { forbiddenBecause, tokenNotFound } from "../auth/credential-errors.ts";
import { principalOf, userOf } from "../auth/principal-of-request.ts";
import type { GatewayContext } from "../context.ts";
import { personalAccessTokenBody } from "../http/gitlab-bodies.ts";
import { requireAdmin } from "../permissions/visible-resources.ts";
import { findPersonalAccessToken } from "../read-model/registry-queries.ts";
import { parseNumericId } from "../read-model/resource-id.ts";
import { forwardCommand, rethrowNotFoundAs } from "./forward-command.ts";
import type { IdParams } from "./route-params.ts";

/**
 * Taking credentials away, on GitLab's own routes:
 * - `GET` and `DELETE /api/v4/personal_access_tokens/self` (`API::PersonalAccessTokens::
 *   SelfInformation`): the calling token itself, with any scope (GitLab registers all of them
 *   there, `credential-verdict.ts`); `GET` answers GitLab's `PersonalAccessTokenWithLastUsedIps`,
 *   `DELETE` revokes it (`204`) through authz as `/:id` does, so it stops working at once. Any
 *   other credential is `400 This endpoint requires token type to be a personal access token`.
 * - `DELETE /api/v4/personal_access_tokens/:id` (`API::PersonalAccessTokens`): the owner or an
 *   admin, `204`; a token that is missing or someone else's is `404 {"message":"404 Not found"}`
 *   for a non-admin (GitLab answers someone else's token `400`, which tells it exists).
 * - `POST /api/v4/users/:id/block` and `/unblock` (`API::Users`): admins only (`403`), unknown
 *   user `404 User Not Found`, an `:id` that is not digits no route (`404 {"error":"404 Not Found"}`), `201` with GitLab's body: `true` when the state changed; `null`
 *   for blocking a blocked user and `false` for unblocking an active one (what GitLab's
 *   `break` and `user.activate` return). An admin cannot block themselves (GitLab's 403 reason).
 */
export function registerCredentialRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  // Fastify matches these static paths before `/:id`, as Grape's `self` route comes first.
  app.get("/api/v4/personal_access_tokens/self", async (request) => {
    const { user, tokenId } = callingToken(await principalOf(ctx, request));
    const token = await findPersonalAccessToken(ctx.db, tokenId);
    // The token authenticated this request: only a projection behind its own row misses it.
    if (token?.user_id !== user.id)
      throw new KasmapError("unavailable", `token ${tokenId} is not in the read model`);
    // `PersonalAccessTokenWithLastUsedIps`: Kasmap records no use, so no address either.
    return { ...personalAccessTokenBody(token), last_used_ips: [] };
  });

  app.delete("/api/v4/personal_access_tokens/self", async (request, reply) => {
    const { user, tokenId } = callingToken(await principalOf(ctx, request));
    await forwardCommand(ctx, "personal_access_token.revoke", { actor_user_id: user.id, token_id: tokenId });
    return reply.code(204).send();
  });

  app.delete<IdParams>("/api/v4/personal_access_tokens/:id", async (request, reply) => {
    const caller = await userOf(ctx, request);
    const tokenId = parseNumericId(request.params.id);
    if (tokenId === null) throw tokenNotFound();
    await forwardCommand(ctx, "personal_access_token.revoke", {
      actor_user_id: caller.id,
      token_id: tokenId,
    }).catch(rethrowNotFoundAs(tokenNotFound));
    return reply.code(204).send();
  });

  for (const [action, state] of [
    ["block", "blocked"],
    ["unblock", "active"],
  ] as const) {
    app.post<IdParams>(`/api/v4/users/:id/${action}`, async (request, reply) => {
      // `API::Users` requires `id: /[0-9]*/` of its routes: anything else matches no route,
      // Grape's `404 {"error":"404 Not Found"}` before authentication.
      if (!/^\d+$/.test(request.params.id)) return reply.callNotFound();
      const caller = await userOf(ctx, request);
      requireAdmin(caller);
      // A number naming nobody (or too big to name anyone) is 404 User.
      const userId = parseNumericId(request.params.id);
      if (userId === null) throw new KasmapError("not_found", NOT_FOUND.user);
      if (state === "blocked" && userId === caller.id) {
        throw forbiddenBecause("The API initiating user cannot be blocked by the API");
      }
      const { changed } = await forwardCommand(ctx, "user.set_state", {
        actor_user_id: caller.id,
        user_id: userId,
        state,
      });
      const body = changed ? true : state === "blocked" ? null : false;
      return reply.code(201).type("application/json").send(JSON.stringify(body));
    });
  }
}

/** The personal access token a request came with, or GitLab's `400` for any other credential. */
function callingToken(principal: Principal): { user: Principal["user"]; tokenId: number } {
  if (principal.kind !== "user") {
    throw new KasmapError("bad_request", "This endpoint requires token type to be a personal access token");
  }
  return { user: principal.user, tokenId: principal.token.id };
}
