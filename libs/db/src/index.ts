export * from "./database.ts";
export { checkDatabaseReachable } from "./database-reachable.ts";
export { isDatabaseUnavailable } from "./database-unavailable.ts";
export * from "./migrate.ts";
export { readModelMigrations } from "./migrations/index.ts";
export * from "./read-model.ts";
