import { createTestDatabase, type TestDatabase } from "@kasmap/testing/harness";
import { type Kysely, sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase } from "../database.ts";
import { migrateSchema } from "../migrate.ts";
import type { ReadModelDatabase } from "../read-model.ts";
import { migrateReadModel, readModelMigrations } from "./index.ts";

/**
 * Migration 026 on a read model whose tombstones the older projection wrote (`deleted_at` only):
 * an agent that came back before it is marked revived, and one still deleted has its deletion's
 * `agent_deleted` grant set counted as applied, so the grant sets published after its revival are
 * kept (held, then applied), not discarded as if they were from before the deletion.
 */
let database: TestDatabase;
let db: Kysely<ReadModelDatabase>;

beforeAll(async () => {
  database = await createTestDatabase();
  db = createDatabase<ReadModelDatabase>({ url: database.url, max: 1 });
  const { "026_agent_revival": _revival, ...before } = readModelMigrations;
  await migrateSchema(db, "read_model", before);
  await sql`
    insert into read_model.projects
      (id, name, path, namespace_id, traversal_ids, path_with_namespace, name_with_namespace, created_at)
    values (1, 'infra', 'infra', 1, '{1}', 'root1/infra', 'root1 / infra', now());
    insert into read_model.agents (id, name, project_id, created_at) values (1, 'back', 1, now());
    insert into read_model.deleted_agents (agent_id, deleted_at)
    values (1, '2026-06-01T10:00:00Z'), (2, '2026-06-01T11:00:00Z');
  `.execute(db);
  await migrateReadModel(db);
});

afterAll(async () => {
  await db?.destroy();
  await database?.drop();
});

describe("migration 026 on the tombstones of the older projection", () => {
  it("marks an agent that came back revived, and one still deleted as past its agent_deleted grant set", async () => {
    const rows = await db
      .selectFrom("read_model.deleted_agents")
      .select(["agent_id", "deleted_at", "revived_at", "grants_cleared_at", "past_deletions"])
      .orderBy("agent_id")
      .execute();
    expect(rows.map((row) => ({ ...row, agent_id: Number(row.agent_id) }))).toEqual([
      {
        agent_id: 1,
        deleted_at: new Date("2026-06-01T10:00:00Z"),
        revived_at: expect.any(Date),
        grants_cleared_at: expect.any(Date),
        past_deletions: null,
      },
      {
        agent_id: 2,
        deleted_at: new Date("2026-06-01T11:00:00Z"),
        revived_at: null,
        grants_cleared_at: new Date("2026-06-01T11:00:00Z"),
        past_deletions: null,
      },
    ]);
  });
});
