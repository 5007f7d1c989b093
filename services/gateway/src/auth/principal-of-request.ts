import { digestToken } from "@kasmap/contracts";
import type { FastifyRequest } from "fastify";
import type { GatewayContext } from "../context.ts";
import {
  type AuthenticatedUser,
  credentialFromHeaders,
  isPrincipalCurrent,
  lookUpPrincipal,
  type Principal,
  unauthorized,
} from "./authenticate.ts";

/**
 * The caller of `request`, or `401 Unauthorized`. GitLab accepts job tokens only on endpoints
 * that opt in (`allowJobToken`); elsewhere a job token is as good as none.
 */
export async function principalOf(
  ctx: GatewayContext,
  request: FastifyRequest,
  options: { allowJobToken?: boolean } = {},
): Promise<Principal> {
  const credential = credentialFromHeaders(request.headers);
  if (!credential) throw unauthorized();
  if (credential.kind === "job_token" && !options.allowJobToken) throw unauthorized();
  const key = `${credential.kind}:${digestToken(credential.token)}`;
  const principal = await ctx.caches.principals.get(key, () => lookUpPrincipal(ctx.db, credential));
  if (!principal || !isPrincipalCurrent(principal, new Date())) throw unauthorized();
  ctx.metrics.authenticated();
  return principal;
}

/** The user behind a personal access token (the only credential most endpoints take). */
export async function userOf(ctx: GatewayContext, request: FastifyRequest): Promise<AuthenticatedUser> {
  return (await principalOf(ctx, request)).user;
}
