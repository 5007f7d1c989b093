import { PROJECTION_CONSUMERS } from "../consume/projection-consumer.ts";
import { MAX_PARTITIONS } from "./agent-partition.ts";

export type ProjectionConsumerDeclaration = (typeof PROJECTION_CONSUMERS)[number];

/** One partition of a partitioned stream: the agents whose `partitionOfAgent` is `index`. */
export type StreamPartition = { index: number; count: number };

/**
 * What one replica leases and runs as one checkpointed consumer: a whole stream, or one
 * partition of a partitioned one.
 */
export type ProjectionUnit = {
  declaration: ProjectionConsumerDeclaration;
  /** null: the whole stream, with its position in `projection_positions` (as before issue 12). */
  partition: StreamPartition | null;
  /** The `pg_try_advisory_lock(PARTITION_LEASE_CLASS, leaseKey)` key: unique among the units. */
  leaseKey: number;
  /** `projection-cluster`, or `projection-cluster[2/3]` for partition 2 of 3: for logs. */
  label: string;
};

/**
 * The stream roles split by agent: the collectors' streams, nearly all of the volume, whose
 * events each touch one agent. The registry and authz streams stay whole, in one stream order:
 * an event there can involve many agents (a group move, a token revoked for an agent another
 * grant refers to), they are few, and read-your-writes waits on them.
 */
export const PARTITIONED_ROLES: ReadonlySet<string> = new Set(["cluster", "heartbeat"]);

/**
 * Every unit for `partitions` partitions per partitioned stream, in one order all replicas share:
 * `partitions = 1` gives the four whole-stream consumers of a single replica.
 */
export function projectionUnits(partitions: number): ProjectionUnit[] {
  if (!Number.isSafeInteger(partitions) || partitions < 1 || partitions > MAX_PARTITIONS) {
    throw new RangeError(`partitions must be between 1 and ${MAX_PARTITIONS}, got ${partitions}`);
  }
  return PROJECTION_CONSUMERS.flatMap((declaration, consumerIndex): ProjectionUnit[] => {
    if (partitions === 1 || !PARTITIONED_ROLES.has(declaration.stream)) {
      return [{ declaration, partition: null, leaseKey: consumerIndex * 1000, label: declaration.durable }];
    }
    return Array.from({ length: partitions }, (_, index) => ({
      declaration,
      partition: { index, count: partitions },
      leaseKey: consumerIndex * 1000 + index,
      label: `${declaration.durable}[${index}/${partitions}]`,
    }));
  });
}
