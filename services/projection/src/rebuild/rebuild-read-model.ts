import { KEPT_BY_REBUILD, READ_MODEL_SCHEMA, type ReadModelDatabase } from "@kasmap/db";
import { createLogger } from "@kasmap/logging";
import { type Kysely, sql } from "kysely";
import {
  openMigratedReadModel,
  type ProjectionService,
  type ProjectionServiceOptions,
  startProjectionService,
} from "../projection-service.ts";

/**
 * Rebuilds the read model from the log: empties every read model table (one `truncate`, in one
 * transaction, positions included), then starts the projection, whose consumers read their
 * checkpoints (now none) and replay every stream from sequence 1. Replaying the audit log
 * reproduces the same rows. Stop every other projection replica first: one still running would
 * keep applying (and storing its position) meanwhile.
 */
export async function rebuildReadModel(options: ProjectionServiceOptions): Promise<ProjectionService> {
  const logger = options.logger ?? createLogger("projection");
  const db = await openMigratedReadModel(options);
  try {
    const tables = await truncateReadModel(db);
    logger.warn({ tables }, "read model truncated; replaying every stream from the start");
  } finally {
    await db.destroy();
  }
  return startProjectionService({ ...options, logger });
}

/**
 * Truncates every table of the read model schema except kysely's migration bookkeeping and
 * `KEPT_BY_REBUILD` (the alert outbox: alerts already raised are not raised again), so a table
 * added by a later migration is emptied too. Returns the table names.
 */
async function truncateReadModel(db: Kysely<ReadModelDatabase>): Promise<string[]> {
  return db.transaction().execute(async (trx) => {
    const result = await sql<{ table_name: string }>`
      select table_name from information_schema.tables
      where table_schema = ${READ_MODEL_SCHEMA} and table_type = 'BASE TABLE'
        and table_name not like 'kysely_migration%'
      order by table_name
    `.execute(trx);
    const tables = result.rows
      .map((r) => r.table_name)
      .filter((table) => !(KEPT_BY_REBUILD as readonly string[]).includes(table));
    if (tables.length === 0) return tables;
    const names = sql.join(tables.map((t) => sql.table(`${READ_MODEL_SCHEMA}.${t}`)));
    await sql`truncate ${names}`.execute(trx);
    return tables;
  });
}
