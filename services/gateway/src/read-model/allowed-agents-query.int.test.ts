import { allowedAgentsForProject } from "@kasmap/access-rules";
import { createDatabase, migrateReadModel, type ReadModelDatabase } from "@kasmap/db";
import { createTestDatabase, type TestDatabase } from "@kasmap/testing/harness";
import type { Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadRandomCiRegistry, randomCiRegistry } from "../testing/random-ci-registry.ts";
import { queryAllowedAgents } from "./allowed-agents-query.ts";

let database: TestDatabase;
let db: Kysely<ReadModelDatabase>;

beforeAll(async () => {
  database = await createTestDatabase();
  db = createDatabase<ReadModelDatabase>({ url: database.url, max: 1 });
  await migrateReadModel(db);
});

afterAll(async () => {
  await db?.destroy();
  await database?.drop();
});

const REGISTRIES = 200;

describe("queryAllowedAgents agrees with allowedAgentsForProject", () => {
  it(`for every project of ${REGISTRIES} random registries, flag on and off`, async () => {
    let compared = 0;
    let granted = 0;
    for (let seed = 1; seed <= REGISTRIES; seed++) {
      const registry = randomCiRegistry(seed);
      await loadRandomCiRegistry(db, registry);
      for (const includeDescendants of [true, false]) {
        for (const project of registry.projects) {
          const expected = allowedAgentsForProject(project, registry.data, { includeDescendants }).map(
            (a) => ({
              agent_id: a.agent.id,
              rule: a.rule,
              via_group_id: a.via_group_id,
              config: a.config,
              config_project_id: a.agent.config_project.id,
            }),
          );
          const actual = (await queryAllowedAgents(db, project.id, { includeDescendants })).map((a) => ({
            agent_id: a.agent_id,
            rule: a.rule,
            via_group_id: a.via_group_id,
            config: a.config,
            config_project_id: a.config_project.id,
          }));
          expect(
            actual,
            `seed ${seed}, project ${project.id}, includeDescendants ${includeDescendants}`,
          ).toEqual(expected);
          compared++;
          granted += expected.length;
        }
      }
    }
    // Guard against a generator that only ever produces empty answers.
    expect(compared).toBeGreaterThan(REGISTRIES * 4);
    expect(granted).toBeGreaterThan(compared / 2);
  });

  it("answers nothing for a project that does not exist", async () => {
    expect(await queryAllowedAgents(db, 999_999)).toEqual([]);
  });
});
