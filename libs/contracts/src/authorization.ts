import { z } from "zod";

/**
 * Authorization rows as GitLab stores them: one per agent × project and agent × group, with the
 * config entry minus `id` as `config`. Events carry an agent's whole current set.
 */

export const ImpersonateSchema = z
  .object({
    username: z.string().min(1),
    uid: z.string().optional(),
    groups: z.array(z.string()).optional(),
    extra: z.array(z.object({ key: z.string(), val: z.array(z.string()) }).strict()).optional(),
  })
  .strict();

const Empty = z.object({}).strict();

/** `access_as` for `ci_access` entries: exactly one of agent, impersonate, ci_job, ci_user. */
export const CiAccessAsSchema = z.union([
  z.object({ agent: Empty }).strict(),
  z.object({ impersonate: ImpersonateSchema }).strict(),
  z.object({ ci_job: Empty }).strict(),
  z.object({ ci_user: Empty }).strict(),
]);

/** The stored config of a `ci_access` row: the config entry minus `id`. */
export const CiAccessConfigSchema = z
  .object({
    default_namespace: z.string().min(1).optional(),
    access_as: CiAccessAsSchema.optional(),
    environments: z.array(z.string().min(1)).optional(),
    protected_branches_only: z.boolean().optional(),
  })
  .strict();
export type CiAccessConfig = z.infer<typeof CiAccessConfigSchema>;

/** `user_access.access_as`: agent or user. */
export const UserAccessAsSchema = z.union([
  z.object({ agent: Empty }).strict(),
  z.object({ user: Empty }).strict(),
]);
export const UserAccessConfigSchema = z.object({ access_as: UserAccessAsSchema }).strict();
export type UserAccessConfig = z.infer<typeof UserAccessConfigSchema>;

const Id = z.number().int().positive();

export const AgentGrantSetSchema = z.object({
  ci_access: z.object({
    projects: z.array(z.object({ project_id: Id, config: CiAccessConfigSchema })),
    groups: z.array(z.object({ group_id: Id, config: CiAccessConfigSchema })),
  }),
  user_access: z.object({
    projects: z.array(z.object({ project_id: Id, config: UserAccessConfigSchema })),
    groups: z.array(z.object({ group_id: Id, config: UserAccessConfigSchema })),
  }),
});
export type AgentGrantSet = z.infer<typeof AgentGrantSetSchema>;

export const EMPTY_GRANT_SET: AgentGrantSet = {
  ci_access: { projects: [], groups: [] },
  user_access: { projects: [], groups: [] },
};

export const GrantRefSchema = z.object({
  access: z.enum(["ci_access", "user_access"]),
  target_type: z.enum(["project", "group"]),
  target_id: Id,
});
export type GrantRef = z.infer<typeof GrantRefSchema>;

/** A config entry Kasmap did not store, and why (GitLab drops these silently). */
export const DroppedEntrySchema = z.object({
  access: z.enum(["ci_access", "user_access"]),
  target_type: z.enum(["project", "group"]),
  path: z.string(),
  reason: z.enum(["not-found", "outside-root-group", "over-limit"]),
});
export type DroppedEntry = z.infer<typeof DroppedEntrySchema>;

/**
 * How many dropped entries a reply, an event or an audit row lists; `dropped_count` says how
 * many there were in all. GitLab keeps only 500 entries per list and drops the rest, so a
 * 20,000-entry file drops 19,000+: listing them all made replies and events exceed NATS
 * `max_payload`.
 */
export const DROPPED_ENTRIES_REPORTED = 100;

/** What was dropped: the total and the first {@link DROPPED_ENTRIES_REPORTED}, in config order. */
export type DroppedReport = { dropped_count: number; dropped: DroppedEntry[] };

export function boundDroppedEntries(dropped: readonly DroppedEntry[]): DroppedReport {
  return { dropped_count: dropped.length, dropped: dropped.slice(0, DROPPED_ENTRIES_REPORTED) };
}

/**
 * Why a config was not applied (`config_refused`): too large (`payload_too_large`, 413) or
 * invalid (`validation_failed`, with at most 100 field problems). The grants stay as they were.
 */
export const ConfigRefusalSchema = z.object({
  code: z.enum(["payload_too_large", "validation_failed"]),
  message: z.string(),
  fields: z.record(z.string(), z.array(z.string())).optional(),
});
export type ConfigRefusal = z.infer<typeof ConfigRefusalSchema>;
