export { applyEventToReadModel, type StreamPosition } from "./apply-event.ts";
export { changeNoticesFor } from "./change-notices.ts";
// The throughput bench feeds messages through the consumer's own step.
export { PROJECTION_CONSUMERS, projectMessage } from "./projection-consumer.ts";
export {
  type CollectorLimits,
  collectorLimitsFromEnv,
  DEFAULT_COLLECTOR_LIMITS,
  ProjectionEnvSchema,
} from "./projection-env.ts";
export { readPositions } from "./projection-positions.ts";
export {
  type ProjectionService,
  type ProjectionServiceOptions,
  startProjectionService,
} from "./projection-service.ts";
export { rebuildReadModel } from "./rebuild-read-model.ts";
