import { createDatabase, migrateReadModel, type ReadModelDatabase } from "@kasmap/db";
import { createTestDatabase, type TestDatabase } from "@kasmap/testing/harness";
import type { Kysely } from "kysely";

/** A fresh database (DATABASE_URL's server) with the read model migrated, and a two-connection pool on it. */
export async function migratedReadModelDatabase(): Promise<{
  database: TestDatabase;
  db: Kysely<ReadModelDatabase>;
}> {
  const database = await createTestDatabase();
  const db = createDatabase<ReadModelDatabase>({ url: database.url, max: 2 });
  await migrateReadModel(db);
  return { database, db };
}

/** Resolves once `consumer`'s position (`read_model.projection_positions`) reaches `lastSeq`, polling every 10 ms. */
export async function untilPosition(
  db: Kysely<ReadModelDatabase>,
  consumer: string,
  lastSeq: number,
): Promise<void> {
  for (;;) {
    const row = await db
      .selectFrom("read_model.projection_positions")
      .select("stream_seq")
      .where("consumer", "=", consumer)
      .executeTakeFirst();
    if (Number(row?.stream_seq ?? 0) >= lastSeq) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
