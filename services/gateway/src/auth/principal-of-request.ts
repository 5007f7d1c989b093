import { mayPerform } from "@kasmap/access-rules";
import { digestToken } from "@kasmap/contracts";
import type { FastifyRequest } from "fastify";
import type { GatewayContext } from "../context.ts";
import { projectAccessLevel } from "../permissions/access-levels.ts";
import { findProject } from "../read-model/registry-queries.ts";
import {
  type AuthenticatedUser,
  credentialFromHeaders,
  lookUpPrincipal,
  type Principal,
  unauthorized,
} from "./authenticate.ts";
import { checkPrincipal } from "./credential-verdict.ts";

/**
 * The caller of `request`, or GitLab's refusal (401, or 403 for scopes and blocked users). GitLab
 * accepts job tokens only on endpoints that opt in (`allowJobToken`); elsewhere a job token is
 * as good as none. A job token also stops working once its user no longer holds Developer on the
 * job's project (GitLab's job token acts with its user's current permissions).
 */
export async function principalOf(
  ctx: GatewayContext,
  request: FastifyRequest,
  options: { allowJobToken?: boolean } = {},
): Promise<Principal> {
  const credential = credentialFromHeaders(request.headers, request.query);
  if (!credential) throw unauthorized();
  if (credential.kind === "job_token" && !options.allowJobToken) throw unauthorized();
  const key = `${credential.kind}:${digestToken(credential.token)}`;
  const principal = await ctx.caches.principals.get(key, () => lookUpPrincipal(ctx.db, credential));
  if (!principal) throw unauthorized();
  checkPrincipal(
    principal,
    { method: request.method, route: request.routeOptions.url ?? request.url },
    { now: new Date(), jobTokenMaxLifetimeMs: ctx.jobTokenMaxLifetimeMs },
  );
  if (principal.kind === "job" && !(await jobUserStillMember(ctx, principal))) throw unauthorized();
  ctx.metrics.authenticated();
  return principal;
}

async function jobUserStillMember(
  ctx: GatewayContext,
  principal: Extract<Principal, { kind: "job" }>,
): Promise<boolean> {
  if (principal.user.isAdmin) return true;
  const project = await ctx.caches.projects.get(`id:${principal.projectId}`, () =>
    findProject(ctx.db, { kind: "id", id: principal.projectId }),
  );
  if (!project) return false;
  const level = await ctx.caches.projectAccessLevels.get(`${principal.user.id}:${project.id}`, () =>
    projectAccessLevel(ctx.db, principal.user.id, project),
  );
  return mayPerform("use_job_token", level, false);
}

/** The user behind a personal access token (the only credential most endpoints take). */
export async function userOf(ctx: GatewayContext, request: FastifyRequest): Promise<AuthenticatedUser> {
  return (await principalOf(ctx, request)).user;
}
