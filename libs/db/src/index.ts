export * from "./database.ts";
export * from "./migrate.ts";
export * from "./read-model.ts";
export * from "./read-model-migrations.ts";
