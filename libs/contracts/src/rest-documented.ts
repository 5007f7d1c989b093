import { z } from "zod";
import { AUTHZ_COMMANDS } from "./commands.ts";
import { AccessLevelSchema, CalendarDateSchema } from "./registry.ts";
import { PaginationQuerySchema, ProjectIdentitySchema } from "./rest.ts";
import { PERSONAL_ACCESS_TOKEN_SCOPES } from "./tokens.ts";

/**
 * REST bodies the gateway builds by hand (`services/gateway/src/http/gitlab-bodies.ts`) and the
 * parameters it reads, as schemas, so the OpenAPI document can describe them. GitLab's shapes,
 * reduced to what Kasmap knows.
 */

const Id = z.number().int().positive();
const Time = z.string().describe("ISO-8601 UTC time with milliseconds, e.g. 2022-03-20T20:42:40.221Z");

/** `API::Entities::Group`, reduced. */
export const GroupResponseSchema = z.object({
  id: Id,
  name: z.string(),
  path: z.string(),
  description: z.string().nullable(),
  full_name: z.string(),
  full_path: z.string(),
  parent_id: Id.nullable(),
  created_at: Time,
});

/** `API::Entities::Project`, reduced; `namespace.kind` is `group` or `user` (personal). */
export const ProjectResponseSchema = ProjectIdentitySchema.extend({
  namespace: z.object({
    id: Id,
    name: z.string(),
    path: z.string(),
    kind: z.enum(["group", "user"]),
    full_path: z.string(),
    parent_id: Id.nullable(),
  }),
  creator_id: Id.nullable(),
});

/** `API::Entities::UserBasic` plus what an admin sees. */
export const UserResponseSchema = z.object({
  id: Id,
  username: z.string(),
  name: z.string(),
  state: z.string(),
  is_admin: z
    .boolean()
    .optional()
    .describe("Only in an administrator's answer to GET /user (GitLab's UserWithAdmin), and on POST /users."),
  created_at: Time,
});

/** `API::Entities::Member`; Kasmap has no membership expiry. */
export const MemberResponseSchema = z.object({
  id: Id,
  username: z.string(),
  name: z.string(),
  state: z.string(),
  access_level: AccessLevelSchema.nullable(),
  expires_at: z.null(),
});

/** `API::Entities::PersonalAccessToken` (`expires_at` is `YYYY-MM-DD`). */
const PersonalAccessTokenResponseSchema = z.object({
  id: Id,
  name: z.string(),
  revoked: z.boolean(),
  created_at: Time,
  scopes: z.array(z.string()),
  user_id: Id,
  last_used_at: Time.nullable(),
  active: z.boolean(),
  expires_at: z.string().nullable(),
});

/** `API::Entities::PersonalAccessTokenWithToken`: the plaintext appears only here, once. */
export const PersonalAccessTokenCreatedResponseSchema = PersonalAccessTokenResponseSchema.extend({
  token: z.string(),
});

/**
 * `GET /personal_access_tokens/self`: `API::Entities::PersonalAccessTokenWithLastUsedIps`. Kasmap
 * records no use of personal access tokens: `last_used_at` is null and `last_used_ips` empty.
 */
export const PersonalAccessTokenSelfResponseSchema = PersonalAccessTokenResponseSchema.extend({
  last_used_ips: z.array(z.string()),
});

/** What `PUT …/configuration` answers: entry counts and the entries GitLab would drop silently. */
export const AgentConfigurationResultSchema = AUTHZ_COMMANDS["agent_config.put"].result;

/** `GET /-/readiness`, GitLab's health-check form. */
export const ReadinessResponseSchema = z.object({
  status: z.enum(["ok", "failed"]),
  nats_check: z.array(z.object({ status: z.enum(["ok", "failed"]) })),
  db_check: z.array(z.object({ status: z.enum(["ok", "failed"]) })),
  /** JetStream storage use past its threshold is a warning; it does not fail readiness. */
  jetstream_check: z.array(z.object({ status: z.enum(["ok", "warning"]), message: z.string().optional() })),
});

/** `POST /api/v4/users` parameters (admin only). */
export const CreateUserBodySchema = z.object({
  username: z.string().min(1).max(255),
  name: z.string().min(1).max(255),
  admin: z.boolean().optional(),
});
/** `POST /api/v4/users/:id/personal_access_tokens` parameters (admin only). */
export const CreatePersonalAccessTokenBodySchema = z.object({
  name: z.string().min(1).max(255),
  /** Required, as in GitLab: `api` (read and write) or `read_api` (GET/HEAD only), among others. */
  scopes: z.array(z.enum(PERSONAL_ACCESS_TOKEN_SCOPES)).min(1),
  /** `YYYY-MM-DD`; the token works until the end of the day before (UTC). Absent: never expires. */
  expires_at: CalendarDateSchema.optional(),
});
/** `POST /api/v4/{groups,projects}/:id/members` parameters. */
export const AddMemberBodySchema = z.object({ user_id: Id, access_level: AccessLevelSchema });

/** At most this many `user_ids` are read from one members query (GitLab sets no limit). */
export const MAX_MEMBER_USER_IDS = 100;

/**
 * `GET /api/v4/{groups,projects}/:id/members[/all]` parameters (lib/api/members.rb): GitLab's
 * pagination, `query` (part of the username or name, case-insensitive) and `user_ids` (an array
 * or comma-separated ids).
 */
export const MembersQuerySchema = PaginationQuerySchema.extend({
  query: z.string().max(255).optional(),
  user_ids: z
    .preprocess(
      (value) => (typeof value === "string" ? value.split(",").filter((part) => part !== "") : value),
      z.array(z.coerce.number().int().positive()).max(MAX_MEMBER_USER_IDS),
    )
    .optional(),
});
/**
 * Grape's `type: Boolean`, as dry-types' `Params::Bool` coerces it: `1 on t true y yes` and
 * `0 off f false n no`, in any case (python-gitlab sends `True`); anything else is
 * `400 <name> is invalid`.
 */
const GrapeBoolean = z
  .string()
  .transform((v) => v.toLowerCase())
  .pipe(z.enum(["1", "on", "t", "true", "y", "yes", "0", "off", "f", "false", "n", "no"]))
  .transform((v) => ["1", "on", "t", "true", "y", "yes"].includes(v));

/**
 * `GET /api/v4/groups` parameters (lib/api/groups.rb "List groups"): GitLab's pagination,
 * `search` (part of the name or path, the parents' included), `owned`, `min_access_level`,
 * `top_level_only`, `all_available` (absent: true for administrators only), `skip_groups`,
 * `order_by` (`name`, `path`, `id`, `similarity`: by name, also with a `search`, where GitLab ranks by
 * similarity) and `sort` (`asc`, `desc`). GitLab's `statistics`,
 * `with_custom_attributes` and `visibility` are accepted and change nothing: Kasmap has none.
 */
export const GroupsListQuerySchema = PaginationQuerySchema.extend({
  search: z.string().max(255).optional(),
  owned: GrapeBoolean.optional(),
  min_access_level: z.coerce.number().pipe(AccessLevelSchema).optional(),
  top_level_only: GrapeBoolean.optional(),
  all_available: GrapeBoolean.optional(),
  skip_groups: z
    .preprocess(
      (value) => (typeof value === "string" ? value.split(",").filter((part) => part !== "") : value),
      z.array(z.coerce.number().int().positive()).max(MAX_MEMBER_USER_IDS),
    )
    .optional(),
  order_by: z.enum(["name", "path", "id", "similarity"]).default("name"),
  sort: z.enum(["asc", "desc"]).default("asc"),
  statistics: GrapeBoolean.optional(),
  with_custom_attributes: GrapeBoolean.optional(),
  visibility: z.enum(["public", "internal", "private"]).optional(),
});
export type GroupsListQuery = z.infer<typeof GroupsListQuerySchema>;

/**
 * `PUT /api/v4/{groups,projects}/:id/members/:user_id` parameters. `expires_at` is accepted as
 * GitLab's `YYYY-MM-DD` and not stored: Kasmap has no membership expiry.
 */
export const UpdateMemberBodySchema = z.object({
  access_level: AccessLevelSchema,
  expires_at: CalendarDateSchema.optional(),
});
/** `PUT …/configuration` for JSON-only clients; YAML bodies are the file itself. */
export const AgentConfigurationJsonBodySchema = z.object({
  content: z.string().describe("The agent's config.yaml, as YAML text"),
});

/**
 * GitLab's error bodies: `{"message": "404 Project Not Found"}` (or field errors
 * `{"message": {"name": ["is too long"]}}`) from models and authorization, and
 * `{"error": "name is missing"}` from parameter validation (Grape).
 */
export const GitLabMessageErrorSchema = z.object({
  message: z.union([z.string(), z.record(z.string(), z.array(z.string()))]),
});
export const GitLabParamErrorSchema = z.object({ error: z.string() });
/**
 * GitLab's bearer-token errors (RFC 6750, rendered by Rack::OAuth2): `401 invalid_token` for an
 * expired or revoked token (with `WWW-Authenticate`), `403 insufficient_scope` with `scope`, the
 * scopes the endpoint registers, space-separated.
 */
export const GitLabTokenErrorSchema = z.object({
  error: z.enum(["invalid_token", "insufficient_scope"]),
  error_description: z.string(),
  scope: z.string().optional(),
});
