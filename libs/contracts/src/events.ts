import { z } from "zod";
import {
  type AlertSeverity,
  AlertSeveritySchema,
  ClusterChangedAlertDataSchema,
  ClusterConflictAlertDataSchema,
} from "./alerts.ts";
import {
  AgentGrantSetSchema,
  ConfigRefusalSchema,
  DROPPED_ENTRIES_REPORTED,
  DroppedEntrySchema,
  GrantRefSchema,
} from "./authorization.ts";
import { CloudEventEnvelopeSchema, newCloudEvent } from "./cloud-event.ts";
import { CLUSTER_FACTS_TEXT_LIMITS, ClusterFactsSchema, CollectorReplicaSchema } from "./cluster-info.ts";
import {
  AgentSchema,
  AgentTokenSchema,
  GroupSchema,
  JobSchema,
  MembershipSchema,
  PersonalAccessTokenSchema,
  ProjectSchema,
  UserSchema,
} from "./registry.ts";

/** Event types; the suffix is the schema version. */
export const EVENT_TYPES = {
  clusterSnapshot: "io.kasmap.cluster.snapshot.v1",
  clusterHeartbeat: "io.kasmap.cluster.heartbeat.v1",
  authzChanged: "io.kasmap.authz.changed.v1",
  groupChanged: "io.kasmap.registry.group.changed.v1",
  projectChanged: "io.kasmap.registry.project.changed.v1",
  userChanged: "io.kasmap.registry.user.changed.v1",
  membershipChanged: "io.kasmap.registry.membership.changed.v1",
  personalAccessTokenChanged: "io.kasmap.registry.personal_access_token.changed.v1",
  agentChanged: "io.kasmap.registry.agent.changed.v1",
  agentTokenChanged: "io.kasmap.registry.agent_token.changed.v1",
  jobChanged: "io.kasmap.registry.job.changed.v1",
  /**
   * A user's agent creation or deletion that authz refused for the agent's own errors (an
   * invalid or taken name): GitLab records these as `cluster_agent_create_failed` and
   * `cluster_agent_delete_failed`. On the registry stream, about the project.
   */
  agentChangeRefused: "io.kasmap.registry.agent.refused.v1",
  /** An alert the projection raises with the `cluster_agent_cluster_changed` audit event. */
  alertClusterChanged: "io.kasmap.alert.cluster_changed.v1",
  /** An alert the projection raises with the `cluster_agent_cluster_conflict` audit event. */
  alertClusterConflict: "io.kasmap.alert.cluster_conflict.v1",
} as const;
export type EventType = (typeof EVENT_TYPES)[keyof typeof EVENT_TYPES];

const Id = z.number().int().positive();

export const ClusterSnapshotDataSchema = z.object({
  agent_id: Id,
  /** SHA-256 hex of the canonical JSON of the facts without `observed_at`. */
  content_hash: z.string().regex(/^[0-9a-f]{64}$/),
  cluster: ClusterFactsSchema,
});
export const ClusterHeartbeatDataSchema = z.object({
  agent_id: Id,
  /**
   * Identifies one collector: its pod name in Kubernetes (stable across restarts of the
   * container), a random UUID per process outside it.
   */
  collector_id: z.string().min(1).max(253),
  content_hash: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .nullable(),
  sent_at: z.iso.datetime({ offset: true }),
  ...CollectorReplicaSchema.shape,
  /**
   * Sent once by a collector that is shutting down: its connection ends now rather than when
   * its heartbeats grow older than `CONNECTED_WITHIN_MS`. Absent: still running.
   */
  stopping: z.boolean().optional(),
  /**
   * The `cluster_uid` (kube-system Namespace UID) of the cluster the collector runs in, as its
   * latest collection read it. Absent: unknown (an older collector, or RBAC-forbidden).
   */
  cluster_uid: z.string().min(1).max(CLUSTER_FACTS_TEXT_LIMITS.cluster_uid).optional(),
});

export const AUTHZ_CHANGE_CAUSES = [
  "agent_created",
  "agent_deleted",
  "config_changed",
  /** A config that could not be applied; the grants stay as they were (see `refusal`). */
  "config_refused",
  "project_moved",
  "group_moved",
  "registry_changed",
] as const;

const AuthzChangedDataObjectSchema = z.object({
  agent_id: Id,
  config_project_id: Id,
  cause: z.enum(AUTHZ_CHANGE_CAUSES),
  /** The agent's whole current grant set (empty once the agent is deleted). */
  grants: AgentGrantSetSchema,
  added: z.array(GrantRefSchema),
  removed: z.array(GrantRefSchema),
  /** The first config entries that were not stored, and why (at most 100, in config order). */
  dropped: z.array(DroppedEntrySchema).max(DROPPED_ENTRIES_REPORTED),
  /** How many config entries were not stored in all. */
  dropped_count: z.number().int().nonnegative(),
  /** Only with cause `config_refused`: why the new config was not applied. */
  refusal: ConfigRefusalSchema.optional(),
  /**
   * Only with cause `agent_deleted`: the number of the deletion, as the deleted agent's registry
   * record carries it (`Agent.deletion`). Absent from an authz that predates the count.
   */
  deletion: z.number().int().positive().optional(),
  actor_user_id: Id.nullable(),
});

/**
 * Events written before the bound carry every dropped entry and no `dropped_count`: they read
 * as the bounded form (the count, then the first 100), so replays never fail on them.
 */
function boundLegacyDroppedList(data: unknown): unknown {
  if (typeof data !== "object" || data === null || "dropped_count" in data) return data;
  const dropped = (data as { dropped?: unknown }).dropped;
  if (!Array.isArray(dropped)) return data;
  return { ...data, dropped_count: dropped.length, dropped: dropped.slice(0, DROPPED_ENTRIES_REPORTED) };
}

export const AuthzChangedDataSchema = z.preprocess(boundLegacyDroppedList, AuthzChangedDataObjectSchema);

export const GroupChangedDataSchema = z.object({ group: GroupSchema, actor_user_id: Id.nullable() });
export const ProjectChangedDataSchema = z.object({ project: ProjectSchema, actor_user_id: Id.nullable() });
export const UserChangedDataSchema = z.object({ user: UserSchema, actor_user_id: Id.nullable() });
export const MembershipChangedDataSchema = z.object({
  membership: MembershipSchema,
  actor_user_id: Id.nullable(),
});
export const PersonalAccessTokenChangedDataSchema = z.object({
  token: PersonalAccessTokenSchema,
  actor_user_id: Id.nullable(),
});
/**
 * The client's IP address as the gateway read it (the peer, or the client a trusted proxy
 * names): GitLab's audit `details.ip_address`. Never a credential; absent for system changes.
 */
export const ClientIpAddressSchema = z.union([z.ipv4(), z.ipv6()]);

export const AgentChangedDataSchema = z.object({
  agent: AgentSchema,
  actor_user_id: Id.nullable(),
  actor_ip_address: ClientIpAddressSchema.optional(),
});
export const AgentTokenChangedDataSchema = z.object({
  token: AgentTokenSchema,
  actor_user_id: Id.nullable(),
  actor_ip_address: ClientIpAddressSchema.optional(),
});
export const JobChangedDataSchema = z.object({ job: JobSchema, actor_user_id: Id.nullable() });

/** Longest agent name a refused creation records (characters); the gateway refuses longer ones alone. */
export const REFUSED_AGENT_NAME_MAX_CHARS = 1024;

export const AGENT_REFUSAL_ACTIONS = ["create", "delete"] as const;
export type AgentRefusalAction = (typeof AGENT_REFUSAL_ACTIONS)[number];

export const AgentChangeRefusedDataSchema = z.object({
  action: z.enum(AGENT_REFUSAL_ACTIONS),
  /** The project the agent was to be created in or deleted from (the audit entity). */
  project_id: Id,
  /** The agent a refused deletion named; null for a refused creation. */
  agent_id: Id.nullable(),
  /** The name as the user sent it (creation) or as stored (deletion). */
  agent_name: z.string().max(REFUSED_AGENT_NAME_MAX_CHARS),
  /** The model's errors as Rails' `full_messages` (`Name has already been taken`). */
  messages: z.array(z.string().max(1024)).min(1).max(20),
  actor_user_id: Id,
  actor_ip_address: ClientIpAddressSchema.optional(),
});

const envelope = <T extends string, D extends z.ZodType>(type: T, data: D) =>
  CloudEventEnvelopeSchema.extend({ type: z.literal(type), data });

/** An alert's envelope: a CloudEvent with the extension attribute `severity`. */
const alertEnvelope = <T extends string, D extends z.ZodType>(type: T, data: D) =>
  envelope(type, data).extend({ severity: AlertSeveritySchema });

/** Every Kasmap event, discriminated by `type`. Consumers parse with this at the NATS edge. */
export const KasmapEventSchema = z.discriminatedUnion("type", [
  envelope(EVENT_TYPES.clusterSnapshot, ClusterSnapshotDataSchema),
  envelope(EVENT_TYPES.clusterHeartbeat, ClusterHeartbeatDataSchema),
  envelope(EVENT_TYPES.authzChanged, AuthzChangedDataSchema),
  envelope(EVENT_TYPES.groupChanged, GroupChangedDataSchema),
  envelope(EVENT_TYPES.projectChanged, ProjectChangedDataSchema),
  envelope(EVENT_TYPES.userChanged, UserChangedDataSchema),
  envelope(EVENT_TYPES.membershipChanged, MembershipChangedDataSchema),
  envelope(EVENT_TYPES.personalAccessTokenChanged, PersonalAccessTokenChangedDataSchema),
  envelope(EVENT_TYPES.agentChanged, AgentChangedDataSchema),
  envelope(EVENT_TYPES.agentTokenChanged, AgentTokenChangedDataSchema),
  envelope(EVENT_TYPES.jobChanged, JobChangedDataSchema),
  envelope(EVENT_TYPES.agentChangeRefused, AgentChangeRefusedDataSchema),
  alertEnvelope(EVENT_TYPES.alertClusterChanged, ClusterChangedAlertDataSchema),
  alertEnvelope(EVENT_TYPES.alertClusterConflict, ClusterConflictAlertDataSchema),
]);
export type KasmapEvent = z.infer<typeof KasmapEventSchema>;
export type KasmapEventOf<T extends EventType> = Extract<KasmapEvent, { type: T }>;
export type EventDataOf<T extends EventType> = KasmapEventOf<T>["data"];

/**
 * Builds a typed Kasmap event: the data is checked against the type at compile time, and
 * `publishEvent` validates it again at run time before it reaches the log.
 */
export function newKasmapEvent<T extends EventType>(input: {
  type: T;
  source: string;
  subject: string;
  data: EventDataOf<T>;
  id?: string;
  time?: Date;
}): KasmapEventOf<T> {
  return newCloudEvent(input) as unknown as KasmapEventOf<T>;
}

/** The alert event types: published by the projection on the alerts stream, each with its severity. */
export const ALERT_SEVERITY_OF = {
  [EVENT_TYPES.alertClusterChanged]: "critical",
  [EVENT_TYPES.alertClusterConflict]: "critical",
} as const satisfies Record<string, AlertSeverity>;
export type AlertType = keyof typeof ALERT_SEVERITY_OF;

/** Builds an alert event: `newKasmapEvent` plus the `severity` its type has (`ALERT_SEVERITY_OF`). */
export function newAlertEvent<T extends AlertType>(input: {
  type: T;
  source: string;
  subject: string;
  data: EventDataOf<T>;
  id: string;
  time: Date;
}): KasmapEventOf<T> {
  return { ...newKasmapEvent(input), severity: ALERT_SEVERITY_OF[input.type] } as KasmapEventOf<T>;
}

/** The event types whose data carries their agent's id in `data.agent_id`: an agent's own events. */
export const AGENT_DATA_EVENT_TYPES = [
  EVENT_TYPES.clusterSnapshot,
  EVENT_TYPES.clusterHeartbeat,
  EVENT_TYPES.authzChanged,
  EVENT_TYPES.alertClusterChanged,
  EVENT_TYPES.alertClusterConflict,
] as const;
export type AgentDataEvent = KasmapEventOf<(typeof AGENT_DATA_EVENT_TYPES)[number]>;

/** Whether `event` is one of an agent's own events (`AGENT_DATA_EVENT_TYPES`). */
export function isAgentDataEvent(event: KasmapEvent): event is AgentDataEvent {
  return (AGENT_DATA_EVENT_TYPES as readonly string[]).includes(event.type);
}
