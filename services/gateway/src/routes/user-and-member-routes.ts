import {
  AccessLevelSchema,
  CalendarDateSchema,
  isPersonalAccessTokenScope,
  type Membership,
  type PersonalAccessTokenScope,
} from "@kasmap/contracts";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { AuthenticatedUser } from "../auth/authenticate.ts";
import { userOf } from "../auth/principal-of-request.ts";
import type { GatewayContext } from "../context.ts";
import { memberBody, personalAccessTokenBody, userBody } from "../http/gitlab-bodies.ts";
import { invalidParams, mergedParams, parseParams } from "../http/request-params.ts";
import { requireAdmin, visibleGroup, visibleProject } from "../permissions/visible-resources.ts";
import { findUser } from "../read-model/registry-queries.ts";
import { parseNumericId } from "../read-model/resource-id.ts";
import { forwardCommand } from "./forward-command.ts";
import type { IdParams, MemberParams } from "./route-params.ts";

/** Grape booleans: JSON true/false or the strings `true`/`false`/`1`/`0` from forms and queries. */
const GrapeBoolean = z.union([
  z.boolean(),
  z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1"),
]);

const CreateUserParamsSchema = z.object({
  username: z.string().min(1).max(255),
  name: z.string().min(1).max(255),
  admin: GrapeBoolean.optional(),
});
/**
 * GitLab's parameters: `scopes` is required (a list, or comma-separated text as Grape's
 * `CommaSeparatedToArray` reads it), `expires_at` an optional `YYYY-MM-DD`.
 */
const CreatePersonalAccessTokenParamsSchema = z.object({
  name: z.string().min(1).max(255),
  scopes: z.preprocess(
    (value) => (typeof value === "string" ? value.split(",") : value),
    z.array(z.string().trim()).min(1),
  ),
  expires_at: CalendarDateSchema.optional(),
});

/** The scopes if each is one GitLab knows, else Grape's `values:` answer. */
function knownScopes(scopes: readonly string[]): PersonalAccessTokenScope[] {
  const known = scopes.filter(isPersonalAccessTokenScope);
  if (known.length !== scopes.length) throw invalidParams(["scopes does not have a valid value"]);
  return known;
}
/** In lib/api/members.rb's declaration order, which Grape's problems follow. */
const AddMemberParamsSchema = z.object({
  access_level: z.coerce.number().pipe(AccessLevelSchema),
  user_id: z.coerce.number().int().positive(),
});
/** GitLab's `PUT …/members/:user_id`: `expires_at` is read and dropped (no membership expiry). */
const UpdateMemberParamsSchema = z.object({
  access_level: z.coerce.number().pipe(AccessLevelSchema),
  expires_at: CalendarDateSchema.optional(),
});

/** Users, personal access tokens (admin only, as in GitLab) and group/project members. */
export function registerUserAndMemberRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  // GitLab presents `UserWithAdmin` to an administrator and `UserPublic`, without `is_admin`, to
  // anyone else (lib/api/users.rb `get do … entity = …`); clients read a missing one as false.
  app.get("/api/v4/user", async (request) => {
    const caller = await userOf(ctx, request);
    const user = await findUser(ctx.db, caller.id);
    if (!user) return { id: caller.id, username: caller.username, name: caller.name };
    const { is_admin, ...body } = userBody(user);
    return is_admin ? { ...body, is_admin } : body;
  });

  app.post("/api/v4/users", async (request, reply) => {
    const caller = await userOf(ctx, request);
    requireAdmin(caller);
    const params = parseParams(CreateUserParamsSchema, mergedParams(request.query, request.body));
    const user = await forwardCommand(ctx, "user.create", {
      actor_user_id: caller.id,
      username: params.username,
      name: params.name,
      is_admin: params.admin ?? false,
    });
    return reply.code(201).send(userBody(user));
  });

  app.post<IdParams>("/api/v4/users/:id/personal_access_tokens", async (request, reply) => {
    const caller = await userOf(ctx, request);
    requireAdmin(caller);
    const userId = parseNumericId(request.params.id);
    if (userId === null) throw invalidParams(["user_id is invalid"]);
    const params = parseParams(
      CreatePersonalAccessTokenParamsSchema,
      mergedParams(request.query, request.body),
    );
    const { token, plaintext } = await forwardCommand(ctx, "personal_access_token.create", {
      actor_user_id: caller.id,
      user_id: userId,
      name: params.name,
      scopes: knownScopes(params.scopes),
      expires_at: params.expires_at ?? null,
    });
    return reply.code(201).send({ ...personalAccessTokenBody(token), token: plaintext });
  });

  for (const sourceType of ["group", "project"] as const) {
    /** The group or project `:id` names, if the caller may see it (else GitLab's 404). */
    const visibleSource = (caller: AuthenticatedUser, id: string) =>
      sourceType === "group"
        ? visibleGroup(ctx, caller, id)
        : visibleProject(ctx, caller, id, "read_project");

    app.post<IdParams>(`/api/v4/${sourceType}s/:id/members`, async (request, reply) => {
      const caller = await userOf(ctx, request);
      // Grape validates the parameters before the endpoint looks the source up.
      const params = parseParams(AddMemberParamsSchema, mergedParams(request.query, request.body));
      const source = await visibleSource(caller, request.params.id);
      const membership = await forwardCommand(ctx, "membership.set", {
        actor_user_id: caller.id,
        source_type: sourceType,
        source_id: source.id,
        user_id: params.user_id,
        access_level: params.access_level,
        existing: "refuse",
      });
      return reply.code(201).send(await memberAnswer(ctx, membership));
    });

    app.put<MemberParams>(`/api/v4/${sourceType}s/:id/members/:user_id`, async (request) => {
      const caller = await userOf(ctx, request);
      const userId = parseNumericId(request.params.user_id);
      if (userId === null) throw invalidParams(["user_id is invalid"]);
      const params = parseParams(UpdateMemberParamsSchema, mergedParams(request.query, request.body));
      const source = await visibleSource(caller, request.params.id);
      const membership = await forwardCommand(ctx, "membership.set", {
        actor_user_id: caller.id,
        source_type: sourceType,
        source_id: source.id,
        user_id: userId,
        access_level: params.access_level,
        existing: "require",
      });
      return memberAnswer(ctx, membership);
    });
  }
}

/** GitLab's member body for a membership authz wrote. */
async function memberAnswer(ctx: GatewayContext, membership: Membership) {
  const member = await findUser(ctx.db, membership.user_id);
  return member
    ? memberBody(member, membership.access_level)
    : { id: membership.user_id, access_level: membership.access_level, expires_at: null };
}
