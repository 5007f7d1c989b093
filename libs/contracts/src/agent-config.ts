import { z } from "zod";
import { CiAccessConfigSchema, UserAccessAsSchema } from "./authorization.ts";

/**
 * The authorization part of `.gitlab/agents/<name>/config.yaml`, as GitLab reads it.
 *
 * Unknown keys are stripped, never rejected: the file is agentk's whole configuration (`gitops`,
 * `observability`, `remote_development`, …) and GitLab/KAS discard what they don't know. Inside
 * `ci_access`/`user_access` entries `@kasmap/authz`'s parser reports stripped keys as warnings, because
 * there a typo (`enviroments`) silently widens access. `access_as` stays strict (from
 * authorization.ts): an unknown or doubled access mode must fail closed, as KAS's oneof does.
 */

/** GitLab's limit: only the first 500 `projects` and the first 500 `groups` of a list count. */
export const AGENT_CONFIG_ENTITY_LIMIT = 500;

/** The access modes `ci_access.*.access_as` and `user_access.access_as` accept, for messages. */
export const CI_ACCESS_AS_MODES = ["agent", "impersonate", "ci_job", "ci_user"] as const;
export const USER_ACCESS_AS_MODES = ["agent", "user"] as const;

/** A full path (`group/subgroup/project`), matched case-insensitively against the registry. */
const FullPathSchema = z.string().min(1, "must be a full path such as group/project");

/** `key:` with nothing after it is YAML null; GitLab treats it like an absent key. */
const nullAsAbsent = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === null ? undefined : value), schema.optional());

export const CiAccessEntrySchema = z.object({ id: FullPathSchema, ...CiAccessConfigSchema.shape });
export type CiAccessEntry = z.infer<typeof CiAccessEntrySchema>;

export const UserAccessEntrySchema = z.object({ id: FullPathSchema });
export type UserAccessEntry = z.infer<typeof UserAccessEntrySchema>;

export const CiAccessSectionSchema = z.object({
  projects: nullAsAbsent(z.array(CiAccessEntrySchema)),
  groups: nullAsAbsent(z.array(CiAccessEntrySchema)),
});

export const UserAccessSectionSchema = z.object({
  access_as: UserAccessAsSchema,
  projects: nullAsAbsent(z.array(UserAccessEntrySchema)),
  groups: nullAsAbsent(z.array(UserAccessEntrySchema)),
});

export const AgentConfigSchema = z.object({
  ci_access: nullAsAbsent(CiAccessSectionSchema),
  user_access: nullAsAbsent(UserAccessSectionSchema),
});
export type AgentConfig = z.infer<typeof AgentConfigSchema>;
