import type { FastifyRequest } from "fastify";
import type { GatewayContext } from "../context.ts";
import type { AuthenticatedUser, Principal } from "./authenticate.ts";

/**
 * The caller of `request`, or the refusal (401, 403 for scopes and blocked users; in GitLab mode
 * 503 when GitLab cannot be asked and nothing is cached), as the context's access source decides
 * (`access/`). GitLab accepts job tokens only on endpoints that opt in (`allowJobToken`);
 * elsewhere a job token is as good as none.
 */
export async function principalOf(
  ctx: GatewayContext,
  request: FastifyRequest,
  options: { allowJobToken?: boolean } = {},
): Promise<Principal> {
  const principal = await ctx.access.principalOf(request, { allowJobToken: options.allowJobToken ?? false });
  ctx.metrics.authenticated();
  return principal;
}

/** The user behind a personal access token (the only credential most endpoints take). */
export async function userOf(ctx: GatewayContext, request: FastifyRequest): Promise<AuthenticatedUser> {
  return (await principalOf(ctx, request)).user;
}
