import { z } from "zod";

/**
 * How urgent an alert is: the CloudEvents extension attribute `severity` of every alert event
 * (`io.kasmap.alert.*`), so a subscriber can route or filter without reading `data`.
 */
export const ALERT_SEVERITIES = ["info", "warning", "critical"] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];
export const AlertSeveritySchema = z.enum(ALERT_SEVERITIES);

const Id = z.number().int().positive();

/** What identifies the cluster an agent reports from (the `before` / `after` of a cluster change). */
export const ClusterIdentitySchema = z.object({
  /** The `kube-system` Namespace's UID. */
  cluster_uid: z.string().nullable(),
  cluster_name: z.string().nullable(),
  api_endpoint: z.string().nullable(),
});
export type ClusterIdentity = z.infer<typeof ClusterIdentitySchema>;

/** `details` of the `cluster_agent_cluster_changed` audit event, as the audit log stores them. */
export const ClusterChangedDetailsSchema = z.object({
  custom_message: z.string(),
  /** The CloudEvent `source` of the snapshot that reported the new cluster. */
  collector: z.string(),
  before: ClusterIdentitySchema,
  after: ClusterIdentitySchema,
  /** The reporting snapshot's content hash. */
  content_hash: z.string(),
});
export type ClusterChangedDetails = z.infer<typeof ClusterChangedDetailsSchema>;

/** One side of a `cluster_agent_cluster_conflict`: a live collector and the cluster it reports. */
export const ConflictingCollectorSchema = z.object({
  collector_id: z.string(),
  pod_name: z.string().nullable(),
  cluster_uid: z.string(),
});
export type ConflictingCollector = z.infer<typeof ConflictingCollectorSchema>;

/**
 * `details` of the `cluster_agent_cluster_conflict` audit event: two live collectors of one
 * agent report different `cluster_uid`s at the same time (one token used in two clusters).
 * `collectors` is ordered by `collector_id`; `collector` is the CloudEvent `source` of the
 * heartbeat that revealed the conflict.
 */
export const ClusterConflictDetailsSchema = z.object({
  custom_message: z.string(),
  collector: z.string(),
  collectors: z.tuple([ConflictingCollectorSchema, ConflictingCollectorSchema]),
});
export type ClusterConflictDetails = z.infer<typeof ClusterConflictDetailsSchema>;

/**
 * `data` of an alert: the audit event it repeats, with the same `details`, so a subscriber
 * needs no call back to the audit log.
 */
const alertData = <D extends z.ZodType>(details: D) =>
  z.object({
    agent_id: Id,
    /** The audit event's key (`event_id` in the read model's audit log). */
    audit_event_id: z.string().min(1),
    /** The agent's configuration project (GitLab's audit entity); null until it was projected. */
    entity_id: Id.nullable(),
    entity_path: z.string().nullable(),
    details,
  });

/** `io.kasmap.alert.cluster_changed.v1`: the agent's `cluster_uid` changed (`cluster_agent_cluster_changed`). */
export const ClusterChangedAlertDataSchema = alertData(ClusterChangedDetailsSchema);

/** `io.kasmap.alert.cluster_conflict.v1`: two live collectors report different clusters (`cluster_agent_cluster_conflict`). */
export const ClusterConflictAlertDataSchema = alertData(ClusterConflictDetailsSchema);
