import { type Kysely, sql } from "kysely";

/**
 * Set-based generation of a large read-model registry for the allowed-agents benchmark: every
 * table is filled by `insert … select … from generate_series(…)` (one statement per group level),
 * never row by row. `setseed` makes `random()` repeatable within a run.
 */
export type RegistrySize = {
  groups: number;
  rootGroups: number;
  projects: number;
  agents: number;
  /** Authorization rows per agent: this many group rows, then project rows (5 = 3 + 2). */
  groupRowsPerAgent: number;
  projectRowsPerAgent: number;
};

/** At scale 1: 100,000 groups (300 roots, depth ≤ 20), 1,000,000 projects, 10,000 agents, 50,000 rows. */
export function registrySize(scale: number): RegistrySize {
  return {
    groups: Math.round(100_000 * scale),
    rootGroups: Math.max(3, Math.round(300 * scale)),
    projects: Math.round(1_000_000 * scale),
    agents: Math.max(10, Math.round(10_000 * scale)),
    groupRowsPerAgent: 3,
    projectRowsPerAgent: 2,
  };
}

// Share of the non-root groups per depth 1..19: widest around depth 5-7, thinning out to 20.
const LEVEL_WEIGHTS = [3, 5, 8, 10, 11, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2.5, 2, 1.5, 1, 0.5];

/** Id ranges per depth (depth 0 = the roots); ids are contiguous per level. */
export function groupLevels(size: RegistrySize): Array<{ first: number; last: number }> {
  const rest = size.groups - size.rootGroups;
  const total = LEVEL_WEIGHTS.reduce((a, b) => a + b, 0);
  const levels = [{ first: 1, last: size.rootGroups }];
  let next = size.rootGroups + 1;
  LEVEL_WEIGHTS.forEach((weight, index) => {
    const count =
      index === LEVEL_WEIGHTS.length - 1
        ? size.groups - next + 1
        : Math.max(1, Math.round((rest * weight) / total));
    levels.push({ first: next, last: next + count - 1 });
    next += count;
  });
  return levels;
}

export async function generateRegistry(db: Kysely<unknown>, size: RegistrySize): Promise<void> {
  await sql`select setseed(0.4242)`.execute(db);
  const [roots, ...levels] = groupLevels(size);
  if (!roots) throw new Error("no root level");
  await sql`
    insert into read_model.groups
    select id, 'g' || id, 'g' || id, null, null, array[id]::int[], 'g' || id, 'g' || id, now()
    from generate_series(${roots.first}::bigint, ${roots.last}::bigint) id`.execute(db);
  let parents = roots;
  for (const level of levels) {
    // Parents drawn with random()^2: the lower ids of the level above get more children, so
    // subtree sizes vary the way real instances do (a few huge groups, many small ones).
    await sql`
      insert into read_model.groups
      select s.id, 'g' || s.id, 'g' || s.id, null, par.id, par.traversal_ids || s.id::int,
             par.full_path || '/g' || s.id, par.full_name || ' / g' || s.id, now()
      from (select id, ${parents.first}::bigint
                   + floor(${parents.last - parents.first + 1} * power(random(), 2))::bigint as parent
            from generate_series(${level.first}::bigint, ${level.last}::bigint) id) s
      join read_model.groups par on par.id = s.parent`.execute(db);
    parents = level;
  }
  await sql`
    insert into read_model.projects
    select s.id, 'p' || s.id, 'p' || s.id, null, g.id, g.traversal_ids,
           g.full_path || '/p' || s.id, g.full_name || ' / p' || s.id, null, now()
    from (select id, 1 + floor(random() * ${size.groups})::bigint as gid
          from generate_series(1, ${size.projects}::bigint) id) s
    join read_model.groups g on g.id = s.gid`.execute(db);
  await sql`
    insert into read_model.agents
    select id, 'agent-' || id, 1 + floor(random() * ${size.projects})::bigint, now(), null
    from generate_series(1, ${size.agents}::bigint) id`.execute(db);
  await generateAuthorizations(db, size);
}

const CONFIGS = sql`(array[
  '{}', '{"access_as":{"agent":{}}}', '{"default_namespace":"ci"}',
  '{"environments":["production"],"protected_branches_only":true}',
  '{"environments":["review/*"],"access_as":{"ci_job":{}}}'
])[1 + floor(random() * 5)::int]::jsonb`;

/**
 * Realistic grants: each agent authorizes a handful of groups and projects under its own
 * configuration project's root group (what authz would keep), picked from per-root id arrays.
 */
async function generateAuthorizations(db: Kysely<unknown>, size: RegistrySize): Promise<void> {
  await sql`
    create temp table root_groups as
      select traversal_ids[1] as root, array_agg(id) as ids from read_model.groups group by 1;
    create temp table root_projects as
      select traversal_ids[1] as root, array_agg(id) as ids from read_model.projects group by 1`.execute(db);
  const targets = [
    { table: "ci_access_group_authorizations", roots: "root_groups", perAgent: size.groupRowsPerAgent },
    { table: "ci_access_project_authorizations", roots: "root_projects", perAgent: size.projectRowsPerAgent },
  ];
  for (const { table, roots, perAgent } of targets) {
    await sql`
      insert into ${sql.table(`read_model.${table}`)}
      select a.id, r.ids[1 + floor(random() * cardinality(r.ids))::int], ${CONFIGS}
      from read_model.agents a
      join read_model.projects cp on cp.id = a.project_id
      join ${sql.table(roots)} r on r.root = cp.traversal_ids[1]
      cross join generate_series(1, ${perAgent}) k
      on conflict do nothing`.execute(db);
  }
  await sql`drop table root_groups; drop table root_projects`.execute(db);
}

/**
 * The generated groups and projects, copied into authz's own tables (same ids and paths), so the
 * group-transfer timing runs authz's production `moveGroupSubtree` on the same registry.
 */
export async function copyRegistryIntoAuthz(db: Kysely<unknown>): Promise<void> {
  await sql`
    insert into authz.groups
      (id, name, path, description, parent_id, traversal_ids, full_path, full_name, created_at)
    select id, name, path, description, parent_id, traversal_ids, full_path, full_name, created_at
    from read_model.groups order by cardinality(traversal_ids), id`.execute(db);
  await sql`
    insert into authz.projects
      (id, name, path, description, namespace_id, traversal_ids, path_with_namespace,
       name_with_namespace, creator_id, created_at)
    select id, name, path, description, namespace_id, traversal_ids, path_with_namespace,
           name_with_namespace, null, created_at
    from read_model.projects`.execute(db);
}

/**
 * Drops the secondary indexes of `tables` in `schema` and returns their definitions, so a bulk
 * load can rebuild each once (far cheaper than maintaining a GIN index row by row).
 */
export async function dropSecondaryIndexes(
  db: Kysely<unknown>,
  tables: readonly string[],
  schema = "read_model",
): Promise<string[]> {
  const result = await sql<{ indexname: string; indexdef: string }>`
    select i.indexname, i.indexdef from pg_indexes i
    where i.schemaname = ${schema} and i.tablename = any(${sql.val(tables)}::text[])
      and i.indexname not like '%_pkey'`.execute(db);
  for (const row of result.rows) await sql`drop index ${sql.id(schema, row.indexname)}`.execute(db);
  return result.rows.map((row) => row.indexdef);
}

export async function recreateIndexes(db: Kysely<unknown>, definitions: readonly string[]): Promise<void> {
  for (const definition of definitions) await sql.raw(definition).execute(db);
}
