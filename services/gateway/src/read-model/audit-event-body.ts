import {
  AUDIT_EVENT_TYPES,
  type AuditEventResponse,
  type AuditEventType,
  type AuditTargetType,
} from "@kasmap/contracts";

/** A stored audit event with the names the REST body shows, as `audit-event-queries.ts` reads it. */
export type AuditEventRecord = {
  id: number;
  event_type: string;
  author_id: number | null;
  entity_id: number | null;
  entity_path: string | null;
  target_id: number;
  target_type: string;
  details: unknown;
  created_at: Date | string;
  /** `users.name` of the author; null when no user acted or the user is unknown. */
  author_name: string | null;
  /** `agents.name` of the event's agent; null once the agent is deleted. */
  agent_name: string | null;
  /** `projects.path_with_namespace` of the entity now, for rows recorded before the project was. */
  project_path: string | null;
  /** `projects.name` of the entity now: the details of a project target (`cluster_agent_create_failed`). */
  project_name: string | null;
};

/** GitLab's `author_name`/`author_class` for what no user did: collectors and silences. */
const SYSTEM_AUTHOR = { name: "Kasmap", class: "Kasmap::System" } as const;

/** The message of events whose stored details carry none (GitLab always has `custom_message`). */
const DEFAULT_MESSAGES: Record<AuditEventType, string> = {
  [AUDIT_EVENT_TYPES.agentCreated]: "Created cluster agent",
  [AUDIT_EVENT_TYPES.agentDeleted]: "Deleted cluster agent",
  [AUDIT_EVENT_TYPES.tokenCreated]: "Created cluster agent token",
  [AUDIT_EVENT_TYPES.tokenRevoked]: "Revoked cluster agent token",
  [AUDIT_EVENT_TYPES.agentCreateFailed]: "Attempted to create cluster agent",
  [AUDIT_EVENT_TYPES.agentDeleteFailed]: "Attempted to delete cluster agent",
  [AUDIT_EVENT_TYPES.clusterInfoChanged]: "Cluster agent's cluster information changed",
  [AUDIT_EVENT_TYPES.authorizationChanged]: "Cluster agent's authorizations changed",
  [AUDIT_EVENT_TYPES.connected]: "Cluster agent connected",
  [AUDIT_EVENT_TYPES.disconnected]: "Cluster agent disconnected",
  [AUDIT_EVENT_TYPES.collectorTokenCreated]: "Created collector token",
  [AUDIT_EVENT_TYPES.collectorTokenRevoked]: "Revoked collector token",
  [AUDIT_EVENT_TYPES.clusterChanged]: "Cluster agent reports from a different cluster",
  [AUDIT_EVENT_TYPES.clusterConflict]: "Collectors of the cluster agent report from different clusters",
};

/**
 * GitLab's REST audit event, `API::Entities::AuditEvent` (gitlab-org/gitlab,
 * ee/lib/api/entities/audit_event.rb): `id, author_id, entity_id, entity_type, event_name,
 * details, created_at`, with `event_name`, `author_name`, `author_class`, `target_id`,
 * `target_type`, `target_details`, `custom_message`, `entity_path` and `author_email` inside
 * `details` (app/services/audit_events/build_service.rb fills them; `formatted_details` adds the
 * e-mail). Kasmap's own facts of the event stay in `details` before GitLab's keys, which win a
 * clash as in GitLab's `additional_details.merge(…)`.
 */
export function auditEventBody(record: AuditEventRecord): AuditEventResponse {
  const stored = isObject(record.details) ? record.details : {};
  const eventName = record.event_type as AuditEventType;
  const named = (key: string): string | null => (typeof stored[key] === "string" ? stored[key] : null);
  const targetDetails =
    record.target_type === "Clusters::Agent"
      ? (named("agent_name") ?? record.agent_name)
      : record.target_type === "Project"
        ? record.project_name
        : named("token_name");
  const author =
    record.author_id === null
      ? SYSTEM_AUTHOR
      : { name: record.author_name ?? `user ${record.author_id}`, class: "User" };
  return {
    id: Number(record.id),
    author_id: record.author_id === null ? null : Number(record.author_id),
    entity_id: record.entity_id === null ? null : Number(record.entity_id),
    entity_type: "Project",
    event_name: eventName,
    details: {
      ...stored,
      event_name: eventName,
      author_name: author.name,
      author_class: author.class,
      author_email: null,
      target_id: Number(record.target_id),
      target_type: record.target_type as AuditTargetType,
      target_details: targetDetails ?? String(record.target_id),
      custom_message: named("custom_message") ?? DEFAULT_MESSAGES[eventName] ?? eventName,
      entity_path: record.entity_path ?? record.project_path,
    },
    created_at: new Date(record.created_at).toISOString(),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
