import { z } from "zod";
import { ClusterFactsSchema } from "./cluster-info.ts";
import { EVENT_TYPES, isAgentDataEvent, type KasmapEvent } from "./events.ts";
import { PaginationQuerySchema } from "./rest.ts";

/**
 * Audit event types. The first four are GitLab's own names (its `audit_events` rows for cluster
 * agents); the rest are Kasmap's, for what GitLab does not record.
 */
export const AUDIT_EVENT_TYPES = {
  agentCreated: "cluster_agent_created",
  agentDeleted: "cluster_agent_deleted",
  tokenCreated: "cluster_agent_token_created",
  tokenRevoked: "cluster_agent_token_revoked",
  clusterInfoChanged: "cluster_agent_cluster_info_changed",
  authorizationChanged: "cluster_agent_authorization_changed",
  connected: "cluster_agent_connected",
  disconnected: "cluster_agent_disconnected",
  collectorTokenCreated: "cluster_agent_collector_token_created",
  collectorTokenRevoked: "cluster_agent_collector_token_revoked",
  /** The agent's `cluster_uid` changed: its token is now used in a different cluster. */
  clusterChanged: "cluster_agent_cluster_changed",
} as const;
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[keyof typeof AUDIT_EVENT_TYPES];
export const AuditEventTypeSchema = z.enum(Object.values(AUDIT_EVENT_TYPES) as [AuditEventType]);

/** `Kasmap::CollectorToken`: a collector token (issue 9 item 5), which GitLab does not have. */
export const AUDIT_TARGET_TYPES = [
  "Clusters::Agent",
  "Clusters::AgentToken",
  "Kasmap::CollectorToken",
] as const;
export type AuditTargetType = (typeof AUDIT_TARGET_TYPES)[number];

/**
 * Infrastructure fields whose changes `cluster_agent_cluster_info_changed` records with their
 * values before and after. Fields that move with every pod restart or autoscaling step
 * (`agent_pod_ip`, `node_count`, `zones`) are left out: they are not "which infrastructure".
 */
export const AUDITED_CLUSTER_FIELDS = [
  "api_endpoint",
  "api_endpoint_ip",
  "cluster_name",
  "cluster_context",
  "node_ips",
  "pod_cidrs",
  "service_cidrs",
  "platform",
  "region",
] as const;
export type AuditedClusterField = (typeof AUDITED_CLUSTER_FIELDS)[number];

const Time = z.iso.datetime({ offset: true });

/** One audit event as GitLab's `GET /audit_events` returns it (`API::Entities::AuditEvent`). */
export const AuditEventResponseSchema = z.object({
  id: z.number().int().positive(),
  /** The acting user; null for what no user did (a collector's snapshot or heartbeat). */
  author_id: z.number().int().positive().nullable(),
  /** The agent's configuration project; null until the agent itself has been projected. */
  entity_id: z.number().int().positive().nullable(),
  entity_type: z.literal("Project"),
  entity_path: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
  created_at: Time,
  event_type: AuditEventTypeSchema,
  target_id: z.number().int().positive(),
  target_type: z.enum(AUDIT_TARGET_TYPES),
});
export type AuditEventResponse = z.infer<typeof AuditEventResponseSchema>;

/** `GET /projects/:id/audit_events`: GitLab's parameters plus Kasmap's `agent_id` and `event_type`. */
export const ProjectAuditEventsQuerySchema = PaginationQuerySchema.extend({
  created_after: Time.optional(),
  created_before: Time.optional(),
  agent_id: z.coerce.number().int().positive().optional(),
  event_type: AuditEventTypeSchema.optional(),
});

/**
 * `GET /audit_events` (admins): GitLab's instance filters plus Kasmap's `agent_id`. GitLab's other
 * entity types are accepted and match nothing here: Kasmap records only project-scoped events.
 */
export const InstanceAuditEventsQuerySchema = PaginationQuerySchema.extend({
  entity_type: z.enum(["Project", "Group", "User", "Gitlab::Audit::InstanceScope"]).optional(),
  entity_id: z.coerce.number().int().positive().optional(),
  created_after: Time.optional(),
  created_before: Time.optional(),
  agent_id: z.coerce.number().int().positive().optional(),
  event_type: AuditEventTypeSchema.optional(),
});

/** `GET …/cluster_info?at=`: the facts current at that time. */
export const ClusterInfoAtQuerySchema = z.object({ at: Time.optional() });

/** `GET /events/stream`: only this agent's events when given. */
export const EventStreamQuerySchema = z.object({
  agent_id: z.coerce.number().int().positive().optional(),
});

/** The agent an event concerns, or null for registry events not tied to one agent. */
export function agentIdOfEvent(event: KasmapEvent): number | null {
  if (isAgentDataEvent(event)) return event.data.agent_id;
  switch (event.type) {
    case EVENT_TYPES.agentChanged:
      return event.data.agent.id;
    case EVENT_TYPES.agentTokenChanged:
      return event.data.token.agent_id;
    default:
      return null;
  }
}

/** One row of `GET …/cluster_info/history`: a snapshot as the collector derived it. */
export const ClusterInfoHistoryEntrySchema = z.object({
  observed_at: Time,
  content_hash: z.string(),
  /** The facts of that snapshot; no `deployment_status`: connection state is not kept over time. */
  cluster_info: ClusterFactsSchema,
});
export type ClusterInfoHistoryEntry = z.infer<typeof ClusterInfoHistoryEntrySchema>;
