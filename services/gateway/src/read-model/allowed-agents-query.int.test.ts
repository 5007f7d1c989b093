import { allowedAgentsForProject } from "@kasmap/access-rules";
import { seededRandom } from "@kasmap/testing";
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { loadRandomCiRegistry, randomCiRegistry } from "../testing/random-ci-registry.ts";
import { readModelForFile } from "../testing/read-model-for-file.ts";
import { queryAllowedAgents } from "./allowed-agents-query.ts";
import type { ReadModel } from "./registry-queries.ts";

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

/** Seeds of the mutation walk, and mutations per seed. */
const WALKS = 25;
const STEPS = 12;

type Row = Record<string, unknown>;

/** The columns `read_model.allowed_agents` answers, in order, as PostgreSQL declares them. */
async function answerColumns(db: ReadModel): Promise<string[]> {
  const result = await sql<{ names: string[] }>`
    select proargnames[3:] as names from pg_proc
    where oid = 'read_model.allowed_agents(bigint, boolean)'::regprocedure`.execute(db);
  return result.rows[0]?.names ?? [];
}

/**
 * Every project's rows from `read_model.allowed_agents` (flag on: the namespace grants of
 * migration 023) and from `read_model.allowed_agents_by_traversal` (012's statement, walking the
 * project's traversal_ids over the authorization tables), all the columns of the answer (012's
 * has three more of the configuration project, which migration 024 stopped returning).
 */
async function bothAnswers(db: ReadModel, projectId: number): Promise<{ actual: Row[]; expected: Row[] }> {
  const actual = await sql<Row>`select * from read_model.allowed_agents(${projectId}, true)`.execute(db);
  const columns = sql.join((await answerColumns(db)).map((c) => sql.ref(c)));
  const expected = await sql<Row>`
    select ${columns} from read_model.allowed_agents_by_traversal(${projectId}, true)`.execute(db);
  return { actual: actual.rows, expected: expected.rows };
}

/** One random change of the kind the projection applies, written as it writes them. */
async function mutate(db: ReadModel, random: () => number, step: number): Promise<string> {
  const ids = async (query: ReturnType<typeof sql<{ id: number }>>) =>
    (await query.execute(db)).rows.map((r) => Number(r.id));
  const pick = <T>(items: readonly T[]): T | undefined => items[Math.floor(random() * items.length)];
  const groups = await ids(sql`select id from read_model.groups order by id`);
  const projects = await ids(sql`select id from read_model.projects order by id`);
  const agents = await ids(sql`select id from read_model.agents order by id`);
  const kind = Math.floor(random() * 7);
  if (kind === 0) {
    // A group subtree moves under another group (or becomes a root), its projects along.
    const group = pick(groups);
    const outside = await ids(sql`
      select id from read_model.groups
      where not traversal_ids @> array[${group ?? 0}::int] order by id`);
    const parent = random() < 0.25 ? null : (pick(outside) ?? null);
    const prefix =
      parent === null
        ? sql`array[]::int[]`
        : sql`(select traversal_ids from read_model.groups where id = ${parent})`;
    await sql`
      with g as (select traversal_ids from read_model.groups where id = ${group ?? 0})
      update read_model.groups x set
        traversal_ids = ${prefix} || x.traversal_ids[cardinality(g.traversal_ids):],
        parent_id = case when x.id = ${group ?? 0} then ${parent}::bigint else x.parent_id end
      from g where x.traversal_ids @> array[${group ?? 0}::int]`.execute(db);
    await sql`
      update read_model.projects p set traversal_ids = g.traversal_ids
      from read_model.groups g where g.id = p.namespace_id and p.traversal_ids <> g.traversal_ids`.execute(
      db,
    );
    return `move group ${group} under ${parent}`;
  }
  if (kind === 1) {
    // A project moves to another namespace (an upsert of its whole row, as the projection does).
    const project = pick(projects) ?? 0;
    const namespace = pick(groups) ?? 0;
    await sql`
      insert into read_model.projects
        select p.id, p.name, p.path, p.description, g.id, g.traversal_ids, p.path_with_namespace,
               p.name_with_namespace, p.creator_id, p.created_at
        from read_model.projects p, read_model.groups g where p.id = ${project} and g.id = ${namespace}
      on conflict (id) do update set namespace_id = excluded.namespace_id,
        traversal_ids = excluded.traversal_ids`.execute(db);
    return `move project ${project} to ${namespace}`;
  }
  if (kind === 2) {
    // A project is renamed: the configuration project columns of its agents follow.
    const project = pick(projects) ?? 0;
    await sql`update read_model.projects set name = name || ${`-${step}`}, description = ${`d${step}`}
      where id = ${project}`.execute(db);
    return `rename project ${project}`;
  }
  if (kind === 3 || kind === 4) {
    // An agent's grant set is replaced (applyAuthzChanged: delete, then insert).
    const agent = pick(agents) ?? 0;
    const table = kind === 3 ? "ci_access_group_authorizations" : "ci_access_project_authorizations";
    const column = kind === 3 ? "group_id" : "project_id";
    const targets = [
      ...new Set([pick(kind === 3 ? groups : projects), pick(kind === 3 ? groups : projects)]),
    ];
    await sql`delete from ${sql.table(`read_model.${table}`)} where agent_id = ${agent}`.execute(db);
    const kept = targets.filter((t) => t !== undefined && random() < 0.8);
    if (kept.length > 0) {
      await sql`insert into ${sql.table(`read_model.${table}`)} (agent_id, ${sql.ref(column)}, config)
        select ${agent}, t, ${JSON.stringify({ default_namespace: `s${step}` })}::jsonb
        from unnest(${kept}::bigint[]) t`.execute(db);
    }
    return `replace ${table} of agent ${agent} with ${kept.join(",")}`;
  }
  if (kind === 5) {
    // An agent is deleted (its rows and grants go) or renamed.
    const agent = pick(agents) ?? 0;
    if (random() < 0.5) {
      await sql`update read_model.agents set name = name || ${`-${step}`} where id = ${agent}`.execute(db);
      return `rename agent ${agent}`;
    }
    await sql`delete from read_model.agents where id = ${agent};`.execute(db);
    await sql`delete from read_model.ci_access_group_authorizations where agent_id = ${agent}`.execute(db);
    await sql`delete from read_model.ci_access_project_authorizations where agent_id = ${agent}`.execute(db);
    return `delete agent ${agent}`;
  }
  // A new group under an existing one (or a root) takes a project; an empty leaf group goes.
  const parent = random() < 0.3 ? null : pick(groups);
  const id = 500 + step;
  await sql`
    insert into read_model.groups
      select ${id}, 'n', 'n', null, ${parent ?? null}::bigint,
             coalesce((select traversal_ids from read_model.groups where id = ${parent ?? 0}), '{}') || ${id}::int,
             'n' || ${id}, 'n' || ${id}, now()`.execute(db);
  const project = pick(projects) ?? 0;
  await sql`update read_model.projects set namespace_id = ${id},
      traversal_ids = (select traversal_ids from read_model.groups where id = ${id}) where id = ${project}`.execute(
    db,
  );
  await sql`
    delete from read_model.groups g where g.id = (
      select l.id from read_model.groups l
      where not exists (select from read_model.projects p where p.namespace_id = l.id)
        and not exists (select from read_model.groups c where c.parent_id = l.id)
      order by l.id limit 1)`.execute(db);
  return `new group ${id} under ${parent}, project ${project} into it, an empty leaf deleted`;
}

describe("read_model.allowed_agents (namespace grants) agrees with 012's statement", () => {
  it(`after each of ${STEPS} random moves, renames and grant changes, ${WALKS} registries`, async () => {
    let compared = 0;
    let granted = 0;
    for (let seed = 1; seed <= WALKS; seed++) {
      const registry = randomCiRegistry(10_000 + seed);
      await loadRandomCiRegistry(readModel.db, registry);
      const random = seededRandom(seed);
      const done: string[] = ["load"];
      for (let step = 0; step <= STEPS; step++) {
        if (step > 0) done.push(await mutate(readModel.db, random, step));
        for (const project of registry.projects) {
          const { actual, expected } = await bothAnswers(readModel.db, project.id);
          expect(actual, `seed ${seed}, project ${project.id}, after ${done.join("; ")}`).toEqual(expected);
          compared++;
          granted += expected.length;
        }
      }
      // No stale row either: what the triggers kept equals a rebuild from scratch.
      const kept = await sql<Row>`
        select * from read_model.ci_access_namespace_grants order by namespace_id, agent_id`.execute(
        readModel.db,
      );
      await sql`select read_model.rebuild_ci_access_namespace_grants()`.execute(readModel.db);
      const rebuilt = await sql<Row>`
        select * from read_model.ci_access_namespace_grants order by namespace_id, agent_id`.execute(
        readModel.db,
      );
      expect(kept.rows, `seed ${seed}, after ${done.join("; ")}`).toEqual(rebuilt.rows);
    }
    expect(compared).toBeGreaterThan(WALKS * STEPS * 2);
    expect(granted).toBeGreaterThan(compared / 3);
  });
});
