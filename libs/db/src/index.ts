export * from "./advisory-lock-session.ts";
export {
  loadClusterFacts,
  loadClusterFactsOfAgents,
  loadClusterSnapshotSeqs,
  type StoredClusterFacts,
} from "./agent-state-reads.ts";
export { appliedStreamPositions } from "./applied-stream-positions.ts";
export * from "./database.ts";
export { checkDatabaseReachable } from "./database-reachable.ts";
export { isDatabaseUnavailable } from "./database-unavailable.ts";
export * from "./migrate.ts";
export { migrateReadModel, readModelMigrations } from "./migrations/index.ts";
export * from "./read-model.ts";
