import { z } from "zod";
import { CiAccessConfigSchema } from "./authorization.ts";
import { ClusterInfoSchema } from "./cluster-info.ts";
import { AgentResponseSchema, ProjectIdentitySchema } from "./rest.ts";

/**
 * REST bodies of "which agents may this project / CI job use": GitLab's
 * `GET /api/v4/job/allowed_agents` (`lib/api/ci/jobs.rb`, exactly its keys) and Kasmap's own
 * project-level listing, explanation and job registration.
 */

const Id = z.number().int().positive();
const Bool = z.union([z.boolean(), z.enum(["true", "false"]).transform((v) => v === "true")]);

/** `Entities::Clusters::Agents::Authorizations::CiAccess`: the stored config as `configuration`. */
export const JobAllowedAgentSchema = z
  .object({
    id: Id,
    config_project: ProjectIdentitySchema,
    configuration: CiAccessConfigSchema,
    /** Kasmap's addition, only with `?with_cluster_info=true`. */
    cluster_info: ClusterInfoSchema.nullable().optional(),
  })
  .strict();

export const JobAllowedAgentsResponseSchema = z
  .object({
    allowed_agents: z.array(JobAllowedAgentSchema),
    job: z.object({ id: Id }).strict(),
    pipeline: z.object({ id: Id }).strict(),
    /** `groups`: the project's group first, then its ancestors up to the root. */
    project: z.object({ id: Id, groups: z.array(z.object({ id: Id }).strict()) }).strict(),
    user: z.object({ id: Id, username: z.string(), roles_in_project: z.array(z.string()) }).strict(),
    /** Present only when the job deploys to an environment. */
    environment: z.object({ tier: z.string(), slug: z.string() }).strict().optional(),
  })
  .strict();
export type JobAllowedAgentsResponse = z.infer<typeof JobAllowedAgentsResponseSchema>;

/** An agent the project may use: the agent as `AgentResponse` names it, its config and the rule. */
export const ProjectAllowedAgentSchema = AgentResponseSchema.pick({
  id: true,
  name: true,
  config_project: true,
})
  .extend({
    configuration: CiAccessConfigSchema,
    rule: z.enum(["explicit_project", "implicit_config_project", "group"]),
    via_group_id: Id.nullable(),
  })
  .strict();
export type ProjectAllowedAgent = z.infer<typeof ProjectAllowedAgentSchema>;

/** GitLab's limit on an environment's name (`Environment` validates `length: { maximum: 255 }`). */
export const ENVIRONMENT_NAME_MAX_LENGTH = 255;

/**
 * `?environment=<name>&ref_protected=true|false` of the explain call: given either, the job
 * filter applies too; a missing `ref_protected` is "unknown", which denies (as GitLab).
 */
export const ExplainAuthorizationQuerySchema = z.object({
  environment: z.string().min(1).max(ENVIRONMENT_NAME_MAX_LENGTH).optional(),
  ref_protected: Bool.optional(),
});

/** `POST /api/v4/projects/:id/jobs`: Kasmap's stand-in for a pipeline starting a job. */
export const CreateJobBodySchema = z.object({
  pipeline_id: z.coerce.number().int().positive().optional(),
  ref: z.string().min(1).optional(),
  ref_protected: Bool.nullable().optional(),
  environment: z
    .object({
      name: z.string().min(1),
      tier: z.string().min(1).optional(),
      slug: z.string().min(1).optional(),
    })
    .nullable()
    .optional(),
});

/** `GET /api/v4/projects/:id/allowed_agents`: Kasmap's project-level answer, with the granting rule. */
export const ProjectAllowedAgentsResponseSchema = z
  .object({ allowed_agents: z.array(ProjectAllowedAgentSchema) })
  .strict();

/** What `explainAuthorization` answers for one project × agent. */
export const AuthorizationExplanationSchema = z.union([
  z
    .object({
      allowed: z.literal(true),
      rule: ProjectAllowedAgentSchema.shape.rule,
      via_group_id: Id.optional(),
      config: CiAccessConfigSchema,
    })
    .strict(),
  z.object({ allowed: z.literal(false), reasons: z.array(z.string()) }).strict(),
]);

/** `201` of `POST /api/v4/projects/:id/jobs`; `token` (`glcbt-…`) is shown only here. */
export const JobCreatedResponseSchema = z
  .object({
    id: Id,
    token: z.string(),
    project_id: Id,
    pipeline_id: Id,
    ref: z.string(),
    ref_protected: z.boolean().nullable(),
    environment: z.object({ name: z.string(), tier: z.string(), slug: z.string() }).strict().nullable(),
    status: z.enum(["running", "finished"]),
  })
  .strict();

/** `201` of `POST /api/v4/projects/:id/jobs/:job_id/finish`: the job, without its token. */
export const JobResponseSchema = JobCreatedResponseSchema.omit({ token: true });
