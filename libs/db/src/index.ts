export * from "./database.ts";
export { checkDatabaseReachable } from "./database-reachable.ts";
export { isDatabaseUnavailable } from "./database-unavailable.ts";
export * from "./migrate.ts";
export * from "./read-model.ts";
export * from "./read-model-migrations.ts";
