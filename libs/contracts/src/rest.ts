import { z } from "zod";
import { ClusterInfoSchema } from "./cluster-info.ts";

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
export const CreateAgentBodySchema = z.object({ name: z.string() });
export const CreateAgentTokenBodySchema = z.object({
  name: z.string().min(1).max(255),
  description: z.string().max(1024).nullable().optional(),
});

/** The most a page holds (GitLab's Kaminari `max_per_page`); a larger `per_page` is clamped to it. */
export const MAX_PER_PAGE = 100;
/** A page's size when `per_page` is absent, or below 1 (Kaminari ignores a negative size). */
export const DEFAULT_PER_PAGE = 20;

/**
 * GitLab's offset pagination query, as Grape and Kaminari read it: an integer is required
 * (`page=abc` → `400 page is invalid`), `page` below 1 is page 1, `per_page` above 100 is 100.
 */
export const PaginationQuerySchema = z.object({
  page: z.coerce
    .number()
    .int()
    .default(1)
    .transform((page) => Math.max(1, page))
    .describe("Page number; below 1 reads as 1."),
  per_page: z.coerce
    .number()
    .int()
    .default(DEFAULT_PER_PAGE)
    .transform((perPage) => (perPage < 1 ? DEFAULT_PER_PAGE : Math.min(perPage, MAX_PER_PAGE)))
    .describe("Items per page; above 100 reads as 100, below 1 as the default 20."),
});
export type PaginationQuery = z.infer<typeof PaginationQuerySchema>;

/** `?with_cluster_info=true|false` (GitLab's Grape booleans accept true/false/1/0). */
export const WithClusterInfoQuerySchema = z.object({
  with_cluster_info: z
    .enum(["true", "false", "1", "0"])
    .optional()
    .transform((v) => v === "true" || v === "1"),
});
