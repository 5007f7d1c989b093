import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from "kysely";

/**
 * Applies a service's migrations to its own PostgreSQL schema, recording them in
 * `<schema>.kysely_migration`, so services migrate independently. Concurrent start-ups are
 * serialised by kysely's migration lock.
 */
export async function migrateSchema<S>(
  db: Kysely<S>,
  schema: string,
  migrations: Record<string, Migration>,
): Promise<void> {
  await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
  const provider: MigrationProvider = { getMigrations: async () => withoutStatementTimeout(migrations) };
  const migrator = new Migrator({
    db,
    provider,
    migrationTableSchema: schema,
    // Migrations are numbered by feature, not by merge order (010 may land after 011): a
    // database that already ran a higher number must still run a lower one added later.
    allowUnorderedMigrations: true,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "unknown";
    throw new Error(`migration ${schema}/${failed} failed: ${String(error)}`, { cause: error });
  }
}

/**
 * Each migration lifts the pool's `statement_timeout` for its own transaction (`set local`): an
 * index built over millions of rows may rightly take longer than any request should.
 */
function withoutStatementTimeout(migrations: Record<string, Migration>): Record<string, Migration> {
  return Object.fromEntries(
    Object.entries(migrations).map(([name, migration]) => [
      name,
      {
        ...migration,
        async up(db: Kysely<unknown>) {
          await sql`set local statement_timeout = 0`.execute(db);
          await migration.up(db);
        },
      },
    ]),
  );
}
