import { z } from "zod";
import { ClusterFactsSchema, StoredClusterFactsSchema } from "./cluster-info.ts";
import { ClientIpAddressSchema, EVENT_TYPES, isAgentDataEvent, type KasmapEvent } from "./events.ts";
import { PaginationQuerySchema } from "./rest.ts";

/**
 * Audit event types. The first six are GitLab's own names (its `audit_events` rows for cluster
 * agents); the rest are Kasmap's, for what GitLab does not record.
 */
export const AUDIT_EVENT_TYPES = {
  agentCreated: "cluster_agent_created",
  agentDeleted: "cluster_agent_deleted",
  tokenCreated: "cluster_agent_token_created",
  tokenRevoked: "cluster_agent_token_revoked",
  /**
   * A refused agent creation: GitLab's `cluster_agent_create_failed`, targeting the project
   * (gitlab-org/gitlab, ee/app/services/ee/clusters/agents/create_service.rb).
   */
  agentCreateFailed: "cluster_agent_create_failed",
  /**
   * A refused agent deletion: GitLab's `cluster_agent_delete_failed`, targeting the agent
   * (gitlab-org/gitlab, ee/app/services/ee/clusters/agents/delete_service.rb).
   */
  agentDeleteFailed: "cluster_agent_delete_failed",
  clusterInfoChanged: "cluster_agent_cluster_info_changed",
  authorizationChanged: "cluster_agent_authorization_changed",
  connected: "cluster_agent_connected",
  disconnected: "cluster_agent_disconnected",
  collectorTokenCreated: "cluster_agent_collector_token_created",
  collectorTokenRevoked: "cluster_agent_collector_token_revoked",
  /** The agent's `cluster_uid` changed: its token is now used in a different cluster. */
  clusterChanged: "cluster_agent_cluster_changed",
  /** Two live collectors of the agent report different `cluster_uid`s: one token, two clusters. */
  clusterConflict: "cluster_agent_cluster_conflict",
} as const;
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[keyof typeof AUDIT_EVENT_TYPES];
export const AuditEventTypeSchema = z.enum(Object.values(AUDIT_EVENT_TYPES) as [AuditEventType]);

/**
 * `Project`: the target of `cluster_agent_create_failed` (no agent exists). `Kasmap::CollectorToken`:
 * a collector token (issue 9 item 5), which GitLab does not have.
 */
export const AUDIT_TARGET_TYPES = [
  "Project",
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

/**
 * The most entries of one list that `cluster_agent_cluster_info_changed` keeps in `before` /
 * `after`, and in the `added` / `removed` of its `cut_lists`. Lists of a 5,000-node dual-stack
 * cluster hold 10,000 entries (`CLUSTER_FACTS_LIMITS`): in full, every autoscaling step wrote an
 * audit row of ~480 KB of JSON (security review: pages of 100 events reached 81 MB).
 */
export const AUDIT_LIST_ENTRIES_KEPT = 100;

/**
 * The most characters (UTF-16 code units, never half a surrogate pair) of one string field that
 * `cluster_agent_cluster_info_changed` keeps in `before` / `after`; longer ones are named in
 * `cut_strings`. An API server URL or a cluster name is far shorter.
 */
export const AUDIT_STRING_CHARS_KEPT = 1024;

/** The lists of the audited fields, by path: those `cut_lists` may name. */
export const AUDITED_CLUSTER_LISTS = [
  "node_ips.external",
  "node_ips.internal",
  "pod_cidrs",
  "service_cidrs",
] as const;
export type AuditedClusterList = (typeof AUDITED_CLUSTER_LISTS)[number];

/** The audited fields of one snapshot, as `before` / `after` hold them (rows stored before the checks included). */
export const AuditedClusterValuesSchema = StoredClusterFactsSchema.pick({
  api_endpoint: true,
  api_endpoint_ip: true,
  cluster_name: true,
  cluster_context: true,
  node_ips: true,
  pod_cidrs: true,
  service_cidrs: true,
  platform: true,
  region: true,
});
export type AuditedClusterValues = z.infer<typeof AuditedClusterValuesSchema>;

const Count = z.number().int().nonnegative();

/**
 * One list cut in `before` / `after` to its first `AUDIT_LIST_ENTRIES_KEPT` entries, and what
 * changed in it, exactly: the entries added (in `after`, not in `before`) and removed, each the
 * first `AUDIT_LIST_ENTRIES_KEPT` in list order with their full count. `before_count` is null on
 * the first snapshot (no `before`: every entry is added). The full lists are the snapshots'
 * (`GET …/cluster_info/history`, `…/cluster_info?at=`), found by `content_hash`.
 */
export const CutListSchema = z.object({
  before_count: Count.nullable(),
  after_count: Count,
  added_count: Count,
  added: z.array(z.string()).max(AUDIT_LIST_ENTRIES_KEPT),
  removed_count: Count,
  removed: z.array(z.string()).max(AUDIT_LIST_ENTRIES_KEPT),
});
export type CutList = z.infer<typeof CutListSchema>;

/** One string field cut in `before` / `after` to `AUDIT_STRING_CHARS_KEPT`: its full lengths. */
export const CutStringSchema = z.object({ before_length: Count.nullable(), after_length: Count.nullable() });
export type CutString = z.infer<typeof CutStringSchema>;

/**
 * `details` of the `cluster_agent_cluster_info_changed` audit event, as the audit log stores
 * them. `changed_fields` compares the full values. `before` / `after` hold every audited field;
 * a list longer than `AUDIT_LIST_ENTRIES_KEPT` on either side keeps its first entries on both,
 * and is described in `cut_lists`; a string longer than `AUDIT_STRING_CHARS_KEPT` keeps its
 * first characters, and is named in `cut_strings`. Without anything cut (every cluster up to 50
 * dual-stack nodes) neither key is present and `before` / `after` are the values in full. So one
 * row has a bounded size whatever the snapshot: under 96 KiB of JSON (89.5 KB with every list at
 * its limit, of the longest entries, all replaced, and every string cut).
 */
export const ClusterInfoChangedDetailsSchema = z.object({
  changed_fields: z.array(z.enum(AUDITED_CLUSTER_FIELDS)),
  /** Null for the agent's first snapshot. */
  before: AuditedClusterValuesSchema.nullable(),
  after: AuditedClusterValuesSchema,
  cut_lists: z.partialRecord(z.enum(AUDITED_CLUSTER_LISTS), CutListSchema).optional(),
  cut_strings: z.partialRecord(z.enum(AUDITED_CLUSTER_FIELDS), CutStringSchema).optional(),
  /** The reporting snapshot's content hash (its row in `GET …/cluster_info/history`). */
  content_hash: z.string(),
});
export type ClusterInfoChangedDetails = z.infer<typeof ClusterInfoChangedDetailsSchema>;

const Time = z.iso.datetime({ offset: true });

/**
 * `details` of a REST audit event: GitLab's keys, as `AuditEvents::BuildService` writes them
 * (gitlab-org/gitlab, app/services/audit_events/build_service.rb) and the audit event models'
 * `formatted_details` add `author_email` to,
 * plus Kasmap's own facts of the event (`agent_name`, `changed_fields`, `before`/`after`, …),
 * which GitLab's `additional_details` allow.
 */
export const AuditEventDetailsSchema = z
  .object({
    event_name: AuditEventTypeSchema,
    /** The acting user's name; `Kasmap` for what no user did (a collector's snapshot, a silence). */
    author_name: z.string(),
    /** `User`, or `Kasmap::System` for what no user did (GitLab names its non-user authors by class). */
    author_class: z.string(),
    /** Always null: Kasmap's read model holds no e-mail addresses. */
    author_email: z.null(),
    target_id: z.number().int().positive(),
    target_type: z.enum(AUDIT_TARGET_TYPES),
    /**
     * The target's name (agent, token or project name), as GitLab's `Gitlab::Audit::Target#details`
     * (`@object.try(:name)`, lib/gitlab/audit/target.rb).
     */
    target_details: z.string(),
    custom_message: z.string(),
    /** The project's full path when the event was recorded; null until the project was projected. */
    entity_path: z.string().nullable(),
    /**
     * The acting user's client address, as GitLab's `details.ip_address` (from the request
     * context); absent for what no user did and for events recorded before Kasmap kept it.
     */
    ip_address: ClientIpAddressSchema.optional(),
  })
  .catchall(z.unknown());
export type AuditEventDetails = z.infer<typeof AuditEventDetailsSchema>;

/**
 * One audit event as GitLab's REST API answers it, `API::Entities::AuditEvent`
 * (gitlab-org/gitlab, ee/lib/api/entities/audit_event.rb): these seven keys and no other; the
 * target, author name, message and entity path are inside `details`. The live event stream keeps
 * Kasmap's streaming shape (`events/stream`), which this is not.
 */
export const AuditEventResponseSchema = z
  .object({
    id: z.number().int().positive(),
    /** The acting user; null for what no user did (a collector's snapshot or heartbeat). */
    author_id: z.number().int().positive().nullable(),
    /** The agent's configuration project; null until the agent itself has been projected. */
    entity_id: z.number().int().positive().nullable(),
    entity_type: z.literal("Project"),
    /** GitLab reads it from `details.event_name`: the audit event type. */
    event_name: AuditEventTypeSchema,
    details: AuditEventDetailsSchema,
    created_at: Time,
  })
  .strict();
export type AuditEventResponse = z.infer<typeof AuditEventResponseSchema>;

/**
 * GitLab's keyset pagination of audit events (`lib/api/helpers/pagination_strategies.rb`,
 * `lib/gitlab/pagination/cursor_based_keyset.rb`: audit events page by `cursor`, ordered
 * `id desc` only): `pagination=keyset`, optional `order_by=id`, `sort=desc` and the `cursor` of
 * the previous answer's `Link: <…>; rel="next"`. Read by the gateway's `keysetPageOf`.
 */
const KeysetQueryFields = {
  pagination: z.string().optional(),
  order_by: z.string().optional(),
  sort: z.string().optional(),
  cursor: z.string().max(1000).optional(),
};

/** `GET /projects/:id/audit_events`: GitLab's parameters plus Kasmap's `agent_id` and `event_type`. */
export const ProjectAuditEventsQuerySchema = PaginationQuerySchema.extend({
  ...KeysetQueryFields,
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
  ...KeysetQueryFields,
  entity_type: z.enum(["Project", "Group", "User", "Gitlab::Audit::InstanceScope"]).optional(),
  entity_id: z.coerce.number().int().positive().optional(),
  created_after: Time.optional(),
  created_before: Time.optional(),
  agent_id: z.coerce.number().int().positive().optional(),
  event_type: AuditEventTypeSchema.optional(),
});

/** `GET …/cluster_info?at=`: the facts current at that time. */
export const ClusterInfoAtQuerySchema = z.object({ at: Time.optional() });

/**
 * `GET /events/stream`: only this agent's events when given. `ticket` (from `POST
 * /api/v4/-/kasmap/live/tickets`) stands in for the credential headers a browser's `EventSource`
 * cannot send: single use, valid `LIVE_TICKET_TTL_SECONDS`.
 */
export const EventStreamQuerySchema = z.object({
  agent_id: z.coerce.number().int().positive().optional(),
  ticket: z.string().min(1).max(200).optional(),
});

/** How long a live-stream ticket may wait to be used, seconds. */
export const LIVE_TICKET_TTL_SECONDS = 60;

/**
 * `POST /api/v4/-/kasmap/live/tickets` (Kasmap extension): a random ticket for one `GET
 * /events/stream?ticket=`, bound to the caller's credential; the gateway keeps only its SHA-256
 * digest, and forgets it once used or at `expires_at`.
 */
export const LiveTicketResponseSchema = z.object({
  ticket: z.string(),
  expires_at: z.string(),
});
export type LiveTicketResponse = z.infer<typeof LiveTicketResponseSchema>;

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
