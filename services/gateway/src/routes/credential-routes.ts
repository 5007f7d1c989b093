import { KasmapError, NOT_FOUND } from "@kasmap/contracts";
import type { FastifyInstance } from "fastify";
import { forbiddenBecause, tokenNotFound } from "../auth/credential-errors.ts";
import { userOf } from "../auth/principal-of-request.ts";
import type { GatewayContext } from "../context.ts";
import { invalidParams } from "../http/request-params.ts";
import { requireAdmin } from "../permissions/visible-resources.ts";
import { parseNumericId } from "../read-model/resource-id.ts";
import { forwardCommand, rethrowNotFoundAs } from "./forward-command.ts";
import type { IdParams } from "./route-params.ts";

/**
 * Taking credentials away, on GitLab's own routes:
 * - `DELETE /api/v4/personal_access_tokens/:id` (`API::PersonalAccessTokens`): the owner or an
 *   admin, `204`; a token that is missing or someone else's is `404 {"message":"404 Not found"}`
 *   for a non-admin (GitLab answers someone else's token `400`, which tells it exists).
 * - `POST /api/v4/users/:id/block` and `/unblock` (`API::Users`): admins only (`403`), unknown
 *   user `404 User Not Found`, `201` with GitLab's body: `true` when the state changed; `null`
 *   for blocking a blocked user and `false` for unblocking an active one (what GitLab's
 *   `break` and `user.activate` return). An admin cannot block themselves (GitLab's 403 reason).
 */
export function registerCredentialRoutes(app: FastifyInstance, ctx: GatewayContext): void {
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
      const caller = await userOf(ctx, request);
      requireAdmin(caller);
      // Grape's `requires :id, type: Integer`: not a number is 400; a number naming nobody, 404.
      if (!/^\d+$/.test(request.params.id)) throw invalidParams(["id is invalid"]);
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
