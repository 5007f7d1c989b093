import { z } from "zod";

/**
 * Registry entities as events carry them: whole state, never secrets (tokens appear only as
 * SHA-256 hex digests). Times are ISO-8601 strings.
 */

const Id = z.number().int().positive();
const Time = z.iso.datetime({ offset: true });
/**
 * The lifetime of a group or project: `created_at`, and `deleted_at` only on the last event of
 * one that was removed (GitLab mode: deleted in GitLab), which makes the read model drop it.
 */
const LifetimeFields = { created_at: Time, deleted_at: Time.optional() };
export const Sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/);

/** A calendar day as GitLab writes `expires_at`: `YYYY-MM-DD`, and a day that exists. */
export const CalendarDateSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "must be YYYY-MM-DD")
  .refine((value) => {
    const parsed = new Date(`${value}T00:00:00Z`);
    return !Number.isNaN(parsed.getTime()) && parsed.toISOString().startsWith(value);
  }, "is not a calendar date");

/** GitLab access levels. */
export const ACCESS_LEVELS = { guest: 10, reporter: 20, developer: 30, maintainer: 40, owner: 50 } as const;
export type AccessLevelName = keyof typeof ACCESS_LEVELS;
export const AccessLevelSchema = z.union([
  z.literal(10),
  z.literal(20),
  z.literal(30),
  z.literal(40),
  z.literal(50),
]);
export type AccessLevel = z.infer<typeof AccessLevelSchema>;

/** GitLab path rule for groups and projects (letters, digits, `_`, `-`, `.`; not ending in `.git`). */
export const PathSchema = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[a-zA-Z0-9_][a-zA-Z0-9_.-]*$/, "can contain only letters, digits, '_', '-' and '.'")
  .refine((p) => !p.endsWith(".git") && !p.endsWith(".atom"), "cannot end in '.git' or '.atom'");

/**
 * GitLab's `namespaces.type`: a group, or a user's personal namespace (`User`), which is a root
 * (`traversal_ids = [id]`), has the username as its path and holds only projects.
 */
export const NAMESPACE_KINDS = ["group", "user"] as const;
export const NamespaceKindSchema = z.enum(NAMESPACE_KINDS);
export type NamespaceKind = z.infer<typeof NamespaceKindSchema>;

/**
 * A namespace: a group or, with `kind: "user"`, a personal namespace. Both share one id space
 * and one path space, as in GitLab. Events written before personal namespaces existed carry
 * neither `kind` nor `owner_id`; the defaults read them as groups.
 */
export const GroupSchema = z.object({
  id: Id,
  kind: NamespaceKindSchema.default("group"),
  /** The user a personal namespace belongs to (GitLab's `namespaces.owner_id`); null for groups. */
  owner_id: Id.nullable().default(null),
  name: z.string().min(1).max(255),
  path: PathSchema,
  description: z.string().nullable(),
  parent_id: Id.nullable(),
  /** Ancestor ids, root first, ending with this group's id (GitLab's `namespaces.traversal_ids`). */
  traversal_ids: z.array(Id).min(1),
  full_path: z.string(),
  full_name: z.string(),
  ...LifetimeFields,
});
export type Group = z.infer<typeof GroupSchema>;

export const ProjectSchema = z.object({
  id: Id,
  name: z.string().min(1).max(255),
  path: PathSchema,
  description: z.string().nullable(),
  /** The namespace the project lives in: a group or its creator's personal namespace. */
  namespace_id: Id,
  /** The namespace's `traversal_ids` (root first; `[namespace_id]` in a personal namespace). */
  traversal_ids: z.array(Id).min(1),
  path_with_namespace: z.string(),
  name_with_namespace: z.string(),
  creator_id: Id.nullable(),
  ...LifetimeFields,
});
export type Project = z.infer<typeof ProjectSchema>;

export const UserSchema = z.object({
  id: Id,
  username: z.string().min(1).max(255),
  name: z.string(),
  is_admin: z.boolean(),
  state: z.enum(["active", "blocked"]),
  created_at: Time,
});
export type User = z.infer<typeof UserSchema>;

export const MembershipSchema = z.object({
  id: Id,
  user_id: Id,
  source_type: z.enum(["group", "project"]),
  source_id: Id,
  /** null once the membership is removed. */
  access_level: AccessLevelSchema.nullable(),
});
export type Membership = z.infer<typeof MembershipSchema>;

export const PersonalAccessTokenSchema = z.object({
  id: Id,
  user_id: Id,
  name: z.string(),
  token_sha256: Sha256HexSchema,
  scopes: z.array(z.string()),
  revoked: z.boolean(),
  expires_at: z.string().nullable(),
  created_at: Time,
});
export type PersonalAccessToken = z.infer<typeof PersonalAccessTokenSchema>;

export const AGENT_NAME_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const AgentNameSchema = z
  .string()
  .max(63, "is too long (maximum is 63 characters)")
  .regex(
    AGENT_NAME_PATTERN,
    "can contain only lowercase letters, digits, and '-', but cannot start or end with '-'",
  );

export const AgentSchema = z.object({
  id: Id,
  name: AgentNameSchema,
  project_id: Id,
  created_at: Time,
  created_by_user_id: Id.nullable(),
  /** null while the agent exists; set when it was deleted. */
  deleted_at: Time.nullable(),
  /**
   * Only with `deleted_at`: which deletion of the agent this is (1 the first time; authz counts
   * them per agent, GitLab mode's agents can come back). Its `agent_deleted` grant set carries the
   * same number, which pairs the two records without comparing the clocks of the hosts that
   * stamped them. Absent from an authz that predates the count.
   */
  deletion: z.number().int().positive().optional(),
});
export type Agent = z.infer<typeof AgentSchema>;

/**
 * What a token of an agent is for: `agent` (GitLab's agent token, `glagent-`) or `collector`
 * (Kasmap's collector token, `kmcol-`, issue 9 item 5). Both authenticate a collector as the
 * agent; each kind has its own routes and its own limit of two active tokens.
 */
export const AGENT_TOKEN_KINDS = ["agent", "collector"] as const;
export type AgentTokenKind = (typeof AGENT_TOKEN_KINDS)[number];

/**
 * Rails' `length: { maximum: n }`, which counts characters (code points), not UTF-16 units (as
 * JSON Schema's `maxLength` does, which the generated documents state).
 */
export const atMostChars = (max: number, base: z.ZodString = z.string()) =>
  base
    .refine((text) => [...text].length <= max, `is too long (maximum is ${max} characters)`)
    .meta({ maxLength: max });

export const AgentTokenSchema = z.object({
  id: Id,
  agent_id: Id,
  /** Events published before collector tokens existed carry no kind: they were agent tokens. */
  kind: z.enum(AGENT_TOKEN_KINDS).default("agent"),
  name: atMostChars(255, z.string().min(1)),
  description: z.string().nullable(),
  status: z.enum(["active", "revoked"]),
  token_sha256: Sha256HexSchema,
  created_at: Time,
  created_by_user_id: Id.nullable(),
  last_used_at: Time.nullable(),
});
export type AgentToken = z.infer<typeof AgentTokenSchema>;

export const JobSchema = z.object({
  id: Id,
  project_id: Id,
  pipeline_id: Id,
  user_id: Id,
  ref: z.string(),
  /** null = protection status unknown, which denies `protected_branches_only` entries. */
  ref_protected: z.boolean().nullable(),
  environment: z
    .object({ name: z.string().min(1), tier: z.string().min(1), slug: z.string().min(1) })
    .nullable(),
  status: z.enum(["running", "finished"]),
  token_sha256: Sha256HexSchema,
  created_at: Time,
});
export type Job = z.infer<typeof JobSchema>;
