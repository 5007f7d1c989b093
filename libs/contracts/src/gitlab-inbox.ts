import { z } from "zod";

/**
 * GitLab mode's inbox (issue 9, docs/gitlab-mode.md): what the gateway stores on
 * `<ROOT>_GITLAB_INBOX` for every system hook, webhook and audit streaming event GitLab delivers,
 * and what services/gitlab-sync consumes. GitLab retries nothing on its own, so storing is the
 * only durability: the gateway answers 200 only once the stream holds the message.
 */

/** The two delivery routes: system hooks/webhooks, and audit event streaming. */
export const GITLAB_INBOX_SOURCES = ["hook", "audit"] as const;
export type GitLabInboxSource = (typeof GITLAB_INBOX_SOURCES)[number];

/**
 * Largest hook or audit event body the gateway accepts (bytes); larger ones get 413. A system
 * hook or push webhook lists at most 20 commits, far below this; the stream's `max_msg_size`
 * adds room for the envelope (`GITLAB_INBOX_MAX_MESSAGE_BYTES`).
 */
export const GITLAB_HOOK_BODY_MAX_BYTES = 960 * 1024;
/** Largest inbox message: a body at the limit plus the envelope and the `X-Gitlab-Event` name. */
export const GITLAB_INBOX_MAX_MESSAGE_BYTES = 1024 * 1024;
/** Characters of `X-Gitlab-Event` kept (GitLab's names are short: `System Hook`, `Push Hook`). */
export const GITLAB_EVENT_HEADER_CHARS = 100;

export const GitLabInboxMessageSchema = z.object({
  /** When the gateway received the delivery (ISO 8601). */
  received_at: z.iso.datetime({ offset: true }),
  source: z.enum(GITLAB_INBOX_SOURCES),
  /** `X-Gitlab-Event` (e.g. `System Hook`, `Push Hook`), or `X-Gitlab-Audit-Event-Type`; null when absent. */
  gitlab_event: z.string().max(GITLAB_EVENT_HEADER_CHARS).nullable(),
  /** GitLab's JSON body, as delivered (always an object). */
  payload: z.unknown(),
});
export type GitLabInboxMessage = z.infer<typeof GitLabInboxMessageSchema>;

/** `<root>.cmd.sync.status`: the mirror's health, asked by the gateway for readiness and metrics. */
export const SyncStatusSchema = z.object({
  /** The period of the full reconcile (`KASMAP_GITLAB_RECONCILE_SECONDS`). */
  reconcile_seconds: z.number().int().positive(),
  last_reconcile_started_at: z.iso.datetime({ offset: true }).nullable(),
  /** The last reconcile that walked everything and swept; null before the first. */
  last_reconcile_completed_at: z.iso.datetime({ offset: true }).nullable(),
  /** Why the last reconcile or hook failed (never a token); null once one succeeds again. */
  last_error: z.string().max(1000).nullable(),
  /** Whether the last request to GitLab got an answer. */
  gitlab_reachable: z.boolean(),
  /** What authz holds mirrored (`mirror.status`); null when authz did not answer. */
  mirrored: z
    .object({
      groups: z.number().int().nonnegative(),
      projects: z.number().int().nonnegative(),
      agents: z.number().int().nonnegative(),
    })
    .nullable(),
});
export type SyncStatus = z.infer<typeof SyncStatusSchema>;

/**
 * Whether the mirror is stale: never completed a reconcile, the last completed one is older than
 * twice the period (one or more were missed), or GitLab did not answer the last request.
 */
export function mirrorStaleness(status: SyncStatus, now: Date = new Date()) {
  const completed = status.last_reconcile_completed_at;
  const ageSeconds =
    completed === null ? null : Math.max(0, Math.round((now.getTime() - Date.parse(completed)) / 1000));
  const stale = !status.gitlab_reachable || ageSeconds === null || ageSeconds > 2 * status.reconcile_seconds;
  return { stale, ageSeconds };
}
