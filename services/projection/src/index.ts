export type { StreamPosition } from "@kasmap/contracts";
export { type AppliedPosition, applyEventToReadModel } from "./apply/apply-event.ts";
// The throughput bench's baseline writes the same rows the projection derives.
export { addressRowsFor } from "./apply/cluster-addresses.ts";
// Tests of the whole system sweep at a time of their own instead of waiting on the timer.
export { recordAgentDisconnections } from "./audit/agent-disconnections.ts";
export { auditEventsFor, NO_PREVIOUS_STATE } from "./audit/audit-events.ts";
// The throughput bench feeds messages through the consumer's own step.
export { PROJECTION_CONSUMERS, projectMessage } from "./consume/projection-consumer.ts";
export { readPositions } from "./consume/projection-positions.ts";
export { changeNoticesFor } from "./notify/change-notices.ts";
export { partitionOfAgent } from "./partitions/agent-partition.ts";
export {
  type CollectorLimits,
  collectorLimitsFromEnv,
  DEFAULT_COLLECTOR_LIMITS,
  ProjectionEnvSchema,
  replicaOptionsFromEnv,
} from "./projection-env.ts";
export {
  type ProjectionService,
  type ProjectionServiceOptions,
  startProjectionService,
} from "./projection-service.ts";
export { rebuildReadModel } from "./rebuild/rebuild-read-model.ts";
