import { z } from "zod";
import { AgentResponseSchema, PaginationQuerySchema, WithClusterInfoQuerySchema } from "./rest.ts";

/** Grape-style boolean query flag (`true|false|1|0`), false when absent. */
const BooleanFlag = z
  .enum(["true", "false", "1", "0"])
  .optional()
  .transform((v) => v === "true" || v === "1");

/**
 * Who can deploy with an agent: the groups its `ci_access` names, the projects whose CI may use
 * it (the first 100 the caller may see) and their number (all of them).
 */
export const DeployableBySchema = z.object({
  projects: z.array(z.object({ id: z.number().int(), path_with_namespace: z.string() })),
  groups: z.array(z.object({ id: z.number().int(), full_path: z.string() })),
  project_count: z.number().int().nonnegative(),
});

/**
 * `GET /api/v4/clusters/lookup` (Kasmap extension): exactly one of `ip` (a literal address) or
 * `cidr` (a range; host bits are cleared). Paginated as GitLab lists are.
 */
export const ClusterLookupQuerySchema = PaginationQuerySchema.extend({
  ip: z.string().optional(),
  cidr: z.string().optional(),
});

/**
 * One agent whose latest snapshot holds the looked-up address (or overlaps the range): GitLab's
 * agent body, the matching addresses (`/32`, `/128` shown as bare addresses; at most 100, all
 * counted in `matches_total`), a cluster summary (null values before the first snapshot) and who
 * can deploy with the agent (`projects`: the first 100 by path the caller can see;
 * `project_count`: all of them).
 */
export const ClusterLookupEntrySchema = z.object({
  agent: AgentResponseSchema,
  matches: z.array(z.object({ field: z.string(), address: z.string() })),
  matches_total: z.number().int().nonnegative(),
  cluster: z.object({
    cluster_name: z.string().nullable(),
    cluster_context: z.string().nullable(),
    api_endpoint: z.string().nullable(),
    platform: z.string().nullable(),
    region: z.string().nullable(),
  }),
  deployable_by: DeployableBySchema,
});
export type ClusterLookupEntry = z.infer<typeof ClusterLookupEntrySchema>;

/**
 * `GET /api/v4/groups/:id/cluster_agents` (Kasmap extension, shaped as GitLab's group listings):
 * `include_subgroups` widens the group to its subtree; `format=csv` (or `Accept: text/csv`)
 * exports every agent as CSV instead of a JSON page.
 */
export const GroupClusterAgentsQuerySchema = PaginationQuerySchema.extend(
  WithClusterInfoQuerySchema.shape,
).extend({
  include_subgroups: BooleanFlag,
  format: z.enum(["json", "csv"]).optional(),
});
