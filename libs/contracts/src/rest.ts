import { z } from "zod";
import { ClusterInfoSchema } from "./cluster-info.ts";
import { atMostChars } from "./registry.ts";

/**
 * REST bodies in GitLab's shape (`lib/api/entities/clusters/*`). Responses keep exactly
 * GitLab's keys; `cluster_info` appears only when the caller asks (`?with_cluster_info=true`),
 * because GitLab's own schema for the agent body forbids unknown keys.
 */

const Id = z.number().int().positive();
const Time = z.string();

/** `API::Entities::ProjectIdentity` as embedded in an agent's `config_project`. */
export const ProjectIdentitySchema = z
  .object({
    id: Id,
    description: z.string().nullable(),
    name: z.string(),
    name_with_namespace: z.string(),
    path: z.string(),
    path_with_namespace: z.string(),
    created_at: Time,
  })
  .strict();
export type ProjectIdentity = z.infer<typeof ProjectIdentitySchema>;

export const AgentResponseSchema = z
  .object({
    id: Id,
    name: z.string(),
    config_project: ProjectIdentitySchema,
    created_at: Time,
    created_by_user_id: Id.nullable(),
  })
  .strict();
export type AgentResponse = z.infer<typeof AgentResponseSchema>;

export const AgentWithClusterInfoResponseSchema = AgentResponseSchema.extend({
  cluster_info: ClusterInfoSchema.nullable(),
}).strict();

export const AgentTokenResponseSchema = z
  .object({
    id: Id,
    name: z.string(),
    description: z.string().nullable(),
    agent_id: Id,
    status: z.enum(["active", "revoked"]),
    created_at: Time,
    created_by_user_id: Id.nullable(),
  })
  .strict();
export const AgentTokenWithLastUsedResponseSchema = AgentTokenResponseSchema.extend({
  last_used_at: Time.nullable(),
}).strict();
export const AgentTokenCreatedResponseSchema = AgentTokenWithLastUsedResponseSchema.extend({
  token: z.string(),
}).strict();

/**
 * A collector token as `GET …/collector_tokens` lists it (Kasmap extension, issue 9 item 5): an
 * agent token's body without `agent_id` (the path names the agent) and `status` (only active
 * tokens are listed), never the token itself; `last_used_at` tells which collector still uses one.
 */
export const CollectorTokenResponseSchema = AgentTokenWithLastUsedResponseSchema.omit({
  agent_id: true,
  status: true,
}).strict();
/** `POST …/collector_tokens` (201): the token, shown this once (`kmcol-…`). */
export const CollectorTokenCreatedResponseSchema = z
  .object({ id: Id, name: z.string(), token: z.string(), created_at: Time })
  .strict();

export const CreateGroupBodySchema = z.object({
  name: z.string().min(1).max(255),
  path: z.string().min(1).max(255),
  parent_id: z.coerce.number().int().positive().nullable().optional(),
  description: z.string().nullable().optional(),
});
export const CreateProjectBodySchema = z.object({
  name: z.string().min(1).max(255).optional(),
  path: z.string().min(1).max(255).optional(),
  namespace_id: z.coerce.number().int().positive().optional(),
  description: z.string().nullable().optional(),
});
/** `PUT /projects/:id/transfer`: `namespace` is the target group's id or full path (GitLab). */
export const TransferProjectBodySchema = z.object({
  namespace: z.union([z.coerce.number().int().positive(), z.string().min(1)]),
});
/** `POST /groups/:id/transfer`: `group_id` of the new parent; absent makes it a top-level group. */
export const TransferGroupBodySchema = z.object({
  group_id: z.coerce.number().int().positive().nullable().optional(),
});
/**
 * `POST /projects/:id/cluster_agents`: Grape's `requires :name, type: String` — only that the key
 * is there (`400 {"error":"name is missing"}`, checked before authorization); what a name may be
 * is the model's rule (`AgentNameSchema`), answered after it.
 */
export const CreateAgentBodySchema = z.object({ name: z.string() });
/**
 * `POST …/cluster_agents/:agent_id/tokens` as Grape declares it (`requires :name, type: String`,
 * `optional :description, type: String`): the key `name` must be there, and a JSON `null` passes
 * as Grape's nil does. What they may hold is `AgentTokenModelSchema`'s, checked after authorization.
 */
export const CreateAgentTokenBodySchema = z.object({
  name: z
    .string()
    .nullable()
    .describe("Required; not blank, at most 255 characters (else 400 with the model's errors)."),
  description: z.string().nullable().optional().describe("At most 1,024 characters."),
});

/** Ruby's `String#blank?`: empty or only whitespace (`[[:space:]]`, Unicode's White_Space). */
const RUBY_BLANK = /^\p{White_Space}*$/u;

/**
 * GitLab's `Clusters::AgentToken` validations, in the model's order (`description` first, then
 * `name`), with Rails' messages: `description` at most 1,024 characters; `name` present (not
 * blank) and at most 255. The gateway answers their failures as `bad_request!(full_messages)`:
 * `400 {"message":"400 Bad request - [\"Name can't be blank\"]"}`.
 */
export const AgentTokenModelSchema = z.object({
  description: atMostChars(1024).nullable().optional(),
  name: z.preprocess(
    (name) => name ?? "",
    z.string().superRefine((name, check) => {
      if (RUBY_BLANK.test(name)) check.addIssue({ code: "custom", message: "can't be blank" });
      else if ([...name].length > 255) {
        check.addIssue({ code: "custom", message: "is too long (maximum is 255 characters)" });
      }
    }),
  ),
});

/** The most a page holds (GitLab's Kaminari `max_per_page`); a larger `per_page` is clamped to it. */
export const MAX_PER_PAGE = 100;
/** A page's size when `per_page` is absent, empty, or below 0 (Kaminari ignores a negative size). */
export const DEFAULT_PER_PAGE = 20;
/**
 * Grape's message for a value `except_values` refuses (its locale, `en.yml`); `parseParams`
 * answers `400 {"error":"per_page has a value not allowed"}` for an issue carrying it.
 */
export const GRAPE_EXCEPT_VALUES = { grape: "has a value not allowed" } as const;

/**
 * GitLab's offset pagination query, as Grape and Kaminari read it (`use :pagination`,
 * `lib/api/concerns/pagination_params.rb`): an integer is required (`page=abc` →
 * `400 page is invalid`), `page` below 1 is page 1, `per_page` 0 is refused (`except_values: [0]`
 * → `400 per_page has a value not allowed`), below 0 or empty is the default 20, above 100 is 100.
 */
export const PaginationQuerySchema = z.object({
  page: z.coerce
    .number()
    .int()
    .default(1)
    .transform((page) => Math.max(1, page))
    .describe("Page number; below 1 reads as 1."),
  per_page: z
    .preprocess(
      // Grape coerces an empty value to nil, which Kaminari reads as its default size.
      (raw) => (raw === "" ? undefined : raw),
      z.coerce
        .number()
        .int()
        .refine((perPage) => perPage !== 0, { params: GRAPE_EXCEPT_VALUES })
        .default(DEFAULT_PER_PAGE),
    )
    .transform((perPage) => (perPage < 1 ? DEFAULT_PER_PAGE : Math.min(perPage, MAX_PER_PAGE)))
    .describe(
      "Items per page; above 100 reads as 100, below 0 as the default 20; 0 is refused (400 per_page has a value not allowed).",
    ),
});
export type PaginationQuery = z.infer<typeof PaginationQuerySchema>;

/** `?with_cluster_info=true|false` (GitLab's Grape booleans accept true/false/1/0). */
export const WithClusterInfoQuerySchema = z.object({
  with_cluster_info: z
    .enum(["true", "false", "1", "0"])
    .optional()
    .transform((v) => v === "true" || v === "1"),
});
