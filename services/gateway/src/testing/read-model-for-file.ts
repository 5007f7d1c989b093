import { createDatabase, migrateReadModel, type ReadModelDatabase } from "@kasmap/db";
import { createTestDatabase } from "@kasmap/testing/harness";
import { resourceForFile } from "@kasmap/testing/resource-for-file";
import type { Kysely } from "kysely";

/** A fresh, migrated read model for one test file (one connection), dropped after it. */
export function readModelForFile(): { db: Kysely<ReadModelDatabase> } {
  return resourceForFile(
    async () => {
      const database = await createTestDatabase();
      const db = createDatabase<ReadModelDatabase>({ url: database.url, max: 1 });
      await migrateReadModel(db);
      return { db, drop: () => database.drop() };
    },
    async ({ db, drop }) => {
      await db.destroy();
      await drop();
    },
  );
}
