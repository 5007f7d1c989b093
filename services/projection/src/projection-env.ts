import { CommonEnvSchema, MetricsEnvSchema } from "@kasmap/contracts";
import { z } from "zod";
import { MAX_PARTITIONS } from "./partitions/agent-partition.ts";

/** Largest cluster snapshot applied, in bytes (a 5,000-node cluster's snapshot is ~200 KiB). */
export const DEFAULT_SNAPSHOT_MAX_BYTES = 512 * 1024;
/**
 * Most messages accepted on an agent's snapshot subject in any minute, valid or not (checked
 * before parsing; a collector publishes only on change).
 */
export const DEFAULT_SNAPSHOTS_PER_MINUTE = 60;
/**
 * Most messages accepted on an agent's heartbeat subjects in any minute, valid or not (checked
 * before parsing): a collector beats every 30 s by default
 * (`--heartbeat-seconds`, at least 1), so 600 leaves room for ten replicas beating every second;
 * the limit stops one compromised cluster from keeping the heartbeat consumer busy for everyone.
 */
export const DEFAULT_HEARTBEATS_PER_MINUTE = 600;
/**
 * Dead letters of their own per agent in any minute on the collector streams; the agent's
 * further refused messages of a batch are listed in one summary dead letter (README "Security
 * model": one cluster's stolen credentials flooding its subjects then cost a dead letter per
 * batch, not per message).
 */
export const DEFAULT_DEAD_LETTERS_PER_MINUTE = 100;
/**
 * Bytes of message heads (`head_base64`, before base64) an agent's dead letters may keep in any
 * minute on the collector streams; its further dead letters keep reason, position, size and
 * digest but no head (`head_omitted: "budget"`). 16 KiB: four whole heads of the largest kind
 * (`DEAD_LETTER_HEAD_BYTES`, 4 KiB), or some forty of a heartbeat's size — enough to see what a
 * broken collector sends (its other letters' `sha256` tell whether the bodies differ; the cluster
 * stream keeps each body at its `seq` until its max age, the heartbeat stream the latest per
 * subject) — where the budget's 100 letters with whole heads cost ~0.9 GB a day per flooding agent.
 */
export const DEFAULT_DEAD_LETTER_HEAD_BYTES_PER_MINUTE = 16 * 1024;
/**
 * Seconds collector events of an agent the read model does not know yet (or without a token yet)
 * may wait for the registry, counted per agent from the first time one of its events waited
 * (`UnknownAgentGrace`); after that, once the registry consumer has caught up, each is refused.
 */
export const DEFAULT_UNKNOWN_AGENT_GRACE_SECONDS = 10;

/**
 * Seconds a projection replica's process may stop running (SIGSTOP, a frozen container, an event
 * loop blocked that long, a host cut off) before PostgreSQL ends its lease session, and with it
 * its leases and its open apply transaction: the other replicas take its units over on their next
 * round (`startLeasedProjection`).
 */
export const DEFAULT_LEASE_TTL_SECONDS = 10;

/** Limits the projection enforces on collectors, the least trusted writers (issue 7.6). */
export type CollectorLimits = {
  snapshotMaxBytes: number;
  snapshotsPerMinute: number;
  heartbeatsPerMinute: number;
  deadLettersPerMinute: number;
  deadLetterHeadBytesPerMinute: number;
  unknownAgentGraceMs: number;
};

export const DEFAULT_COLLECTOR_LIMITS: CollectorLimits = {
  snapshotMaxBytes: DEFAULT_SNAPSHOT_MAX_BYTES,
  snapshotsPerMinute: DEFAULT_SNAPSHOTS_PER_MINUTE,
  heartbeatsPerMinute: DEFAULT_HEARTBEATS_PER_MINUTE,
  deadLettersPerMinute: DEFAULT_DEAD_LETTERS_PER_MINUTE,
  deadLetterHeadBytesPerMinute: DEFAULT_DEAD_LETTER_HEAD_BYTES_PER_MINUTE,
  unknownAgentGraceMs: DEFAULT_UNKNOWN_AGENT_GRACE_SECONDS * 1000,
};

/** The projection's environment: the common variables plus its collector limits. */
export const ProjectionEnvSchema = CommonEnvSchema.extend(MetricsEnvSchema.shape).extend({
  KASMAP_PROJECTION_SNAPSHOT_MAX_BYTES: z.coerce.number().int().min(1024).default(DEFAULT_SNAPSHOT_MAX_BYTES),
  KASMAP_PROJECTION_SNAPSHOTS_PER_MINUTE: z.coerce
    .number()
    .int()
    .min(1)
    .default(DEFAULT_SNAPSHOTS_PER_MINUTE),
  KASMAP_PROJECTION_HEARTBEATS_PER_MINUTE: z.coerce
    .number()
    .int()
    .min(1)
    .default(DEFAULT_HEARTBEATS_PER_MINUTE),
  KASMAP_PROJECTION_DEAD_LETTERS_PER_MINUTE: z.coerce
    .number()
    .int()
    .min(1)
    .default(DEFAULT_DEAD_LETTERS_PER_MINUTE),
  /** 0: no head in any collector dead letter (the body is read from its stream by `seq`). */
  KASMAP_PROJECTION_DEAD_LETTER_HEAD_BYTES_PER_MINUTE: z.coerce
    .number()
    .int()
    .min(0)
    .default(DEFAULT_DEAD_LETTER_HEAD_BYTES_PER_MINUTE),
  KASMAP_PROJECTION_UNKNOWN_AGENT_GRACE_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(3600)
    .default(DEFAULT_UNKNOWN_AGENT_GRACE_SECONDS),
  /**
   * Partitions of the cluster and heartbeat streams, split by agent (issue 12): the units
   * replicas share. Every replica on one read model must use the same number.
   */
  KASMAP_PROJECTION_PARTITIONS: z.coerce.number().int().min(1).max(MAX_PARTITIONS).default(1),
  /**
   * `DEFAULT_LEASE_TTL_SECONDS`: the others take a frozen replica's units over within about this
   * plus a second. Slow batches never evict a live replica, only its whole process pausing this
   * long; below 5, long garbage collections or a starved CPU might (it then rejoins).
   */
  KASMAP_PROJECTION_LEASE_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(2)
    .max(3600)
    .default(DEFAULT_LEASE_TTL_SECONDS),
  /** Names this replica in logs and `pg_stat_activity`; default `<hostname>-<pid>` (a pod's name). */
  KASMAP_PROJECTION_REPLICA_ID: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,63}$/, "1 to 63 letters, digits, '.', '_' or '-'")
    .optional(),
});
export type ProjectionEnv = z.infer<typeof ProjectionEnvSchema>;

/** The replica options of the environment, for `startProjectionService`. */
export function replicaOptionsFromEnv(env: ProjectionEnv): {
  partitions: number;
  leaseTtlMs: number;
  replicaId?: string;
} {
  return {
    partitions: env.KASMAP_PROJECTION_PARTITIONS,
    leaseTtlMs: env.KASMAP_PROJECTION_LEASE_TTL_SECONDS * 1000,
    ...(env.KASMAP_PROJECTION_REPLICA_ID === undefined
      ? {}
      : { replicaId: env.KASMAP_PROJECTION_REPLICA_ID }),
  };
}

export function collectorLimitsFromEnv(env: ProjectionEnv): CollectorLimits {
  return {
    snapshotMaxBytes: env.KASMAP_PROJECTION_SNAPSHOT_MAX_BYTES,
    snapshotsPerMinute: env.KASMAP_PROJECTION_SNAPSHOTS_PER_MINUTE,
    heartbeatsPerMinute: env.KASMAP_PROJECTION_HEARTBEATS_PER_MINUTE,
    deadLettersPerMinute: env.KASMAP_PROJECTION_DEAD_LETTERS_PER_MINUTE,
    deadLetterHeadBytesPerMinute: env.KASMAP_PROJECTION_DEAD_LETTER_HEAD_BYTES_PER_MINUTE,
    unknownAgentGraceMs: env.KASMAP_PROJECTION_UNKNOWN_AGENT_GRACE_SECONDS * 1000,
  };
}
