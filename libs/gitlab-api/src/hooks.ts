import { z } from "zod";

/**
 * Payloads GitLab POSTs: system hooks (doc/administration/system_hooks.md), project and group
 * webhooks (doc/user/project/integrations/webhook_events.md) and audit event streaming
 * (doc/user/compliance/audit_event_schema.md). Loose: only the fields Kasmap acts on are checked.
 */

const Id = z.number().int();

export const ProjectSystemHookEvents = [
  "project_create",
  "project_destroy",
  "project_rename",
  "project_transfer",
  "project_update",
] as const;
export const GroupSystemHookEvents = ["group_create", "group_destroy", "group_rename"] as const;
/** Group webhooks' subgroup events (`object_kind` absent, `event_name` set). */
export const SubgroupWebhookEvents = ["subgroup_create", "subgroup_destroy"] as const;

export const ProjectHookSchema = z.looseObject({
  event_name: z.enum(ProjectSystemHookEvents),
  project_id: Id,
  path_with_namespace: z.string().optional(),
  old_path_with_namespace: z.string().optional(),
});

export const GroupHookSchema = z.looseObject({
  event_name: z.enum(GroupSystemHookEvents),
  group_id: Id,
  full_path: z.string().optional(),
  old_full_path: z.string().optional(),
});

export const SubgroupHookSchema = z.looseObject({
  event_name: z.enum(SubgroupWebhookEvents),
  group_id: Id,
  parent_group_id: Id.optional(),
});

const CommitSchema = z.looseObject({
  id: z.string().optional(),
  added: z.array(z.string()).default([]),
  modified: z.array(z.string()).default([]),
  removed: z.array(z.string()).default([]),
});

/** A push: system hook (`event_name: "push"`) or webhook (`object_kind: "push"`). */
export const PushHookSchema = z.looseObject({
  project_id: Id,
  ref: z.string(),
  before: z.string().optional(),
  after: z.string().optional(),
  /** GitLab lists at most 20 commits; `total_commits_count` says how many there were. */
  commits: z.array(CommitSchema).default([]),
  total_commits_count: z.number().int().optional(),
  project: z.looseObject({ default_branch: z.string().nullable().optional() }).optional(),
});
export type PushHook = z.infer<typeof PushHookSchema>;

/** `repository_update` system hook: refs changed, no file list. */
export const RepositoryUpdateHookSchema = z.looseObject({
  event_name: z.literal("repository_update"),
  project_id: Id,
  refs: z.array(z.string()).default([]),
  project: z.looseObject({ default_branch: z.string().nullable().optional() }).optional(),
});

export const ClusterAgentAuditEventTypes = [
  "cluster_agent_created",
  "cluster_agent_deleted",
  "cluster_agent_token_created",
  "cluster_agent_token_revoked",
] as const;

/** One streamed audit event. For agent events the entity is the agent's project. */
export const AuditStreamingEventSchema = z.looseObject({
  id: z.union([z.string(), z.number()]).optional(),
  event_type: z.string(),
  entity_id: Id,
  entity_type: z.string(),
  entity_path: z.string().optional(),
  target_id: z.union([z.string(), z.number()]).nullable().optional(),
  target_type: z.string().nullable().optional(),
  created_at: z.string().optional(),
});
export type AuditStreamingEvent = z.infer<typeof AuditStreamingEventSchema>;
