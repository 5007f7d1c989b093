import { allowedAgentsForProject } from "@kasmap/access-rules";
import { describe, expect, it } from "vitest";
import { loadRandomCiRegistry, randomCiRegistry } from "../testing/random-ci-registry.ts";
import { readModelForFile } from "../testing/read-model-for-file.ts";
import { queryAllowedAgents } from "./allowed-agents-query.ts";

const readModel = readModelForFile();

const REGISTRIES = 200;

describe("queryAllowedAgents agrees with allowedAgentsForProject", () => {
  it(`for every project of ${REGISTRIES} random registries, flag on and off`, async () => {
    let compared = 0;
    let granted = 0;
    for (let seed = 1; seed <= REGISTRIES; seed++) {
      const registry = randomCiRegistry(seed);
      await loadRandomCiRegistry(readModel.db, registry);
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
          const actual = (await queryAllowedAgents(readModel.db, project.id, { includeDescendants })).map(
            (a) => ({
              agent_id: a.agent_id,
              rule: a.rule,
              via_group_id: a.via_group_id,
              config: a.config,
              config_project_id: a.config_project.id,
            }),
          );
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
    expect(await queryAllowedAgents(readModel.db, 999_999)).toEqual([]);
  });
});
