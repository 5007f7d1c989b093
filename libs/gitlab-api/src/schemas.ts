import { z } from "zod";

/**
 * zod schemas of the GitLab REST v4 answers Kasmap reads. Objects are loose: GitLab adds fields
 * across versions, and an unknown field must never turn a good answer into an error. Fields
 * GitLab documents as nullable are nullable here.
 */

/** GitLab's access levels (doc/api/members.md). */
export const ACCESS_LEVELS = {
  no_access: 0,
  minimal_access: 5,
  guest: 10,
  planner: 15,
  reporter: 20,
  developer: 30,
  maintainer: 40,
  owner: 50,
} as const;

const Id = z.number().int();

export const GitLabUserSchema = z.looseObject({
  id: Id,
  username: z.string(),
  name: z.string(),
  state: z.string(),
  /** Present only when the token belongs to an administrator (or for admins reading users). */
  is_admin: z.boolean().optional(),
});
export type GitLabUser = z.infer<typeof GitLabUserSchema>;

export const GitLabGroupSchema = z.looseObject({
  id: Id,
  name: z.string(),
  path: z.string(),
  full_path: z.string(),
  full_name: z.string(),
  description: z.string().nullable().default(""),
  parent_id: Id.nullable(),
  created_at: z.string(),
});
export type GitLabGroup = z.infer<typeof GitLabGroupSchema>;

export const GitLabNamespaceSchema = z.looseObject({
  id: Id,
  name: z.string(),
  path: z.string(),
  /** `group` or `user` (a personal namespace). */
  kind: z.string(),
  full_path: z.string(),
  parent_id: Id.nullable().optional(),
});
export type GitLabNamespace = z.infer<typeof GitLabNamespaceSchema>;

const AccessSchema = z.looseObject({ access_level: z.number().int() }).nullable();

export const GitLabProjectPermissionsSchema = z.looseObject({
  project_access: AccessSchema.optional(),
  group_access: AccessSchema.optional(),
});

export const GitLabProjectSchema = z.looseObject({
  id: Id,
  name: z.string(),
  path: z.string(),
  path_with_namespace: z.string(),
  description: z.string().nullable().default(null),
  /** null for a project with an empty repository. */
  default_branch: z.string().nullable().optional(),
  created_at: z.string(),
  namespace: GitLabNamespaceSchema,
  /** Only in `GET /projects/:id` (and listings with `simple=false`) for an authenticated caller. */
  permissions: GitLabProjectPermissionsSchema.optional(),
});
export type GitLabProject = z.infer<typeof GitLabProjectSchema>;

/** The project summary GitLab nests in an agent (`config_project`). */
export const GitLabProjectSummarySchema = z.looseObject({
  id: Id,
  name: z.string().optional(),
  path: z.string().optional(),
  path_with_namespace: z.string().optional(),
  created_at: z.string().optional(),
});

export const GitLabClusterAgentSchema = z.looseObject({
  id: Id,
  name: z.string(),
  config_project: GitLabProjectSummarySchema,
  created_at: z.string(),
  created_by_user_id: Id.nullable(),
});
export type GitLabClusterAgent = z.infer<typeof GitLabClusterAgentSchema>;

/** `GET /job` with a `JOB-TOKEN`: the running job the token belongs to (doc/api/jobs.md). */
export const GitLabJobSchema = z.looseObject({
  id: Id,
  status: z.string(),
  ref: z.string(),
  tag: z.boolean().optional(),
  name: z.string().optional(),
  stage: z.string().optional(),
  user: GitLabUserSchema.omit({ state: true }).extend({ state: z.string().optional() }).nullable(),
  pipeline: z.looseObject({
    id: Id,
    project_id: Id,
    ref: z.string().optional(),
    sha: z.string().optional(),
    status: z.string().optional(),
  }),
});
export type GitLabJob = z.infer<typeof GitLabJobSchema>;

export const GitLabVersionSchema = z.looseObject({
  version: z.string(),
  revision: z.string(),
});
export type GitLabVersion = z.infer<typeof GitLabVersionSchema>;
