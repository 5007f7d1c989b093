/**
 * How fast is "which agents may project P use" (`queryAllowedAgents`, one SQL statement over the
 * read model) on a GitLab-sized registry, next to a primary-key lookup, and how long does a group
 * transfer's `traversal_ids` rewrite take?
 *
 * Method: a fresh database on the local PostgreSQL (DATABASE_URL, else
 * postgres://postgres@127.0.0.1:5432/postgres), created and dropped by this run. The read-model
 * migrations create the tables; generation is set-based (bench/support/ci-access-registry-sql.ts)
 * with the groups'/projects' secondary indexes dropped during the load and rebuilt after, then
 * ANALYZE. At scale 1: 100,000 groups (300 roots, depth ≤ 20), 1,000,000 projects, 10,000 agents,
 * ~50,000 CI authorization rows; the triggers that keep `read_model.ci_access_namespace_grants`
 * (migration 023) are bypassed during the bulk load and the table rebuilt once after it (timed
 * apart), then the database is vacuumed as autovacuum would after a load. Then, on ONE
 * connection (kysely, pool of 1), after a warm-up, interleaved per sample: `select * from
 * read_model.projects where id = $1` (the baseline) and `queryAllowedAgents` (the gateway's own
 * query) for the same random project; p50/p99 of each and their ratio. Both go alike through
 * kysely and node-postgres as unnamed extended-protocol statements (parsed and planned per call,
 * none prepared); the plans inside `queryAllowedAgents`'s PL/pgSQL function are cached by it.
 * Finally the group transfer: the groups and projects are copied into authz's own
 * schema (its migrations), the group whose subtree holds closest to 10,000 projects moves under
 * another root, and authz's production `moveGroupSubtree` (two UPDATEs:
 * `traversal_ids = $prefix || traversal_ids[k:]` where `traversal_ids @> array[$id]`, returning
 * the moved rows) is timed in one transaction.
 *
 * Run: npx tsx bench/allowed-agents.bench.ts [--scale 1.0] [--samples 2000]
 */
import { randomBytes } from "node:crypto";
import { cpus, totalmem } from "node:os";
import { pathToFileURL } from "node:url";
import {
  AUTHZ_SCHEMA,
  type AuthzDatabase,
  authzMigrations,
  findGroup,
  moveGroupSubtree,
} from "@kasmap/authz-service";
import { createDatabase, migrateReadModel, migrateSchema, type ReadModelDatabase } from "@kasmap/db";
import { queryAllowedAgents } from "@kasmap/gateway-service";
import { type Kysely, sql } from "kysely";
import pg from "pg";
import { type AllowedAgentsHttpResult, measureAllowedAgentsOverHttp } from "./support/allowed-agents-http.ts";
import {
  copyRegistryIntoAuthz,
  dropSecondaryIndexes,
  generateRegistry,
  type RegistrySize,
  recreateIndexes,
  registrySize,
} from "./support/ci-access-registry-sql.ts";
import { printGoal } from "./support/goal.ts";
import { BENCH_HTTP_LOAD } from "./support/http-load.ts";

export type AllowedAgentsBenchResult = {
  scale: number;
  size: RegistrySize & { authorizationRows: number };
  generationSeconds: number;
  /** `read_model.ci_access_namespace_grants` (migration 023): rows, and its rebuild + ANALYZE, s. */
  namespaceGrants: { rows: number; seconds: number };
  samples: number;
  pkLookupMs: { p50: number; p99: number };
  allowedAgentsMs: { p50: number; p99: number };
  ratio: { p50: number; p99: number };
  meanAgentsPerProject: number;
  /** The same figures for the deepest projects under the largest root group (the worst case). */
  worstCase: {
    rootGroupId: number;
    projects: number;
    pkLookupMs: Percentiles;
    allowedAgentsMs: Percentiles;
    ratio: Percentiles;
  };
  http: AllowedAgentsHttpResult;
  transfer: { groupId: number; projects: number; groups: number; ms: number };
};

type Percentiles = { p50: number; p99: number };

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function timed<T>(work: () => Promise<T>): Promise<[number, T]> {
  const start = process.hrtime.bigint();
  const value = await work();
  return [Number(process.hrtime.bigint() - start) / 1e6, value];
}

/** Runs the benchmark and prints its figures (what `npm run bench` calls). */
export async function runAllowedAgentsBench(
  options: { scale?: number; samples?: number; databaseUrl?: string } = {},
): Promise<void> {
  await printAllowedAgentsBench(await measureAllowedAgents(options));
}

export async function measureAllowedAgents(
  options: { scale?: number; samples?: number; databaseUrl?: string } = {},
): Promise<AllowedAgentsBenchResult> {
  const scale = options.scale ?? 1;
  const samples = options.samples ?? 2_000;
  const adminUrl =
    options.databaseUrl ?? process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const name = `kasmap_bench_allowed_agents_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const db = createDatabase<ReadModelDatabase>({
    url: url.toString(),
    max: 1,
    applicationName: "kasmap-bench",
    // Generating a million projects takes minutes on a loaded machine; the measured statements
    // take well under a millisecond, so the limit changes nothing in what is timed.
    statementTimeoutMs: 3_600_000,
  });
  try {
    await migrateReadModel(db);
    await migrateSchema(db, AUTHZ_SCHEMA, authzMigrations);
    const size = registrySize(scale);
    const raw = db as unknown as Kysely<unknown>;
    const [generationMs] = await timed(async () => {
      const indexes = await dropSecondaryIndexes(raw, ["groups", "projects"]);
      // The bulk load bypasses the triggers that keep `ci_access_namespace_grants` (their
      // subtree lookups need the GIN index dropped meanwhile); one rebuild follows, timed apart.
      await sql`set session_replication_role = replica`.execute(db);
      await generateRegistry(raw, size);
      await sql`set session_replication_role = origin`.execute(db);
      await recreateIndexes(raw, indexes);
    });
    const [namespaceGrantsMs] = await timed(async () => {
      await sql`select read_model.rebuild_ci_access_namespace_grants()`.execute(db);
      await sql`analyze`.execute(db);
    });
    // What autovacuum would have done to freshly loaded tables before the registry serves
    // reads: hint bits set and the visibility map filled, so that index-only scans (the
    // own-rows probes) stay index-only, as on a running system.
    await sql`vacuum (analyze)`.execute(db);
    const namespaceGrants = await countNamespaceGrants(db);
    const authorizationRows = await countAuthorizationRows(db);
    const measured = await measureQueries(db, randomProjects(size.projects, samples), 300);
    const worst = await worstCaseProjects(db, 200);
    const worstMeasured = await measureQueries(db, worst.projects, 100, samples);
    const http = await measureAllowedAgentsOverHttp(db, url.toString(), {
      randomProjects: randomProjects(size.projects, HTTP_RANDOM_JOBS),
      worstProjects: worst.projects.slice(0, HTTP_WORST_JOBS),
    });
    const [copyMs] = await timed(async () => {
      const indexes = await dropSecondaryIndexes(raw, ["groups", "projects"], AUTHZ_SCHEMA);
      await copyRegistryIntoAuthz(raw);
      await recreateIndexes(raw, indexes);
      await sql`analyze authz.groups, authz.projects`.execute(db);
    });
    // The same connection, typed for authz's schema, which lives in this database too.
    const authzDb = db as unknown as Kysely<AuthzDatabase>;
    const transfer = await measureTransfer(authzDb, Math.round(10_000 * scale));
    return {
      scale,
      size: { ...size, authorizationRows },
      generationSeconds: (generationMs + copyMs) / 1000,
      namespaceGrants: { rows: namespaceGrants, seconds: namespaceGrantsMs / 1000 },
      samples,
      ...measured,
      worstCase: {
        rootGroupId: worst.rootGroupId,
        projects: worst.projects.length,
        pkLookupMs: worstMeasured.pkLookupMs,
        allowedAgentsMs: worstMeasured.allowedAgentsMs,
        ratio: worstMeasured.ratio,
      },
      http,
      transfer,
    };
  } finally {
    await db.destroy();
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

async function countAuthorizationRows(db: Kysely<ReadModelDatabase>): Promise<number> {
  const result = await sql<{ n: number }>`
    select (select count(*) from read_model.ci_access_project_authorizations)
         + (select count(*) from read_model.ci_access_group_authorizations) as n`.execute(db);
  return Number(result.rows[0]?.n ?? 0);
}

async function countNamespaceGrants(db: Kysely<ReadModelDatabase>): Promise<number> {
  const result = await sql<{ n: string }>`
    select count(*) as n from read_model.ci_access_namespace_grants`.execute(db);
  return Number(result.rows[0]?.n ?? 0);
}

/** Jobs of the HTTP half: on random projects, and on the worst-case projects. */
const HTTP_RANDOM_JOBS = 400;
const HTTP_WORST_JOBS = 100;

/** `count` project ids drawn by a fixed LCG, so each run samples the same projects. */
function randomProjects(projects: number, count: number): number[] {
  let state = 12345;
  return Array.from({ length: count }, () => {
    state = (state * 1103515245 + 12345) % 2_147_483_648;
    return 1 + (state % projects);
  });
}

/**
 * The worst case the goal names: projects under the root group with the most projects (the
 * widest `ci_access` grants and candidate agents), the deepest first (the most ancestors to
 * probe).
 */
async function worstCaseProjects(db: Kysely<ReadModelDatabase>, count: number) {
  const root = await sql<{ root: number }>`
    select traversal_ids[1] as root from read_model.projects group by 1 order by count(*) desc limit 1`.execute(
    db,
  );
  const rootGroupId = Number(root.rows[0]?.root);
  const rows = await sql<{ id: string }>`
    select id from read_model.projects where traversal_ids[1] = ${rootGroupId}
    order by cardinality(traversal_ids) desc, id limit ${count}`.execute(db);
  return { rootGroupId, projects: rows.rows.map((row) => Number(row.id)) };
}

/**
 * Interleaved samples of the primary-key lookup and `queryAllowedAgents` for the same project,
 * `samples` of them cycling through `projectIds`, after `warmUps` unmeasured pairs.
 */
async function measureQueries(
  db: Kysely<ReadModelDatabase>,
  projectIds: readonly number[],
  warmUps: number,
  samples = projectIds.length,
) {
  const pkLookup = (id: number) =>
    db.selectFrom("read_model.projects").selectAll().where("id", "=", id).executeTakeFirst();
  const projectAt = (i: number) => projectIds[i % projectIds.length] as number;
  for (let i = 0; i < warmUps; i++) {
    await pkLookup(projectAt(i));
    await queryAllowedAgents(db, projectAt(i));
  }
  const pk: number[] = [];
  const allowed: number[] = [];
  let agents = 0;
  for (let i = 0; i < samples; i++) {
    const id = projectAt(i);
    pk.push((await timed(() => pkLookup(id)))[0]);
    const [ms, rows] = await timed(() => queryAllowedAgents(db, id));
    allowed.push(ms);
    agents += rows.length;
  }
  const pkLookupMs = { p50: percentile(pk, 50), p99: percentile(pk, 99) };
  const allowedAgentsMs = { p50: percentile(allowed, 50), p99: percentile(allowed, 99) };
  return {
    pkLookupMs,
    allowedAgentsMs,
    ratio: { p50: allowedAgentsMs.p50 / pkLookupMs.p50, p99: allowedAgentsMs.p99 / pkLookupMs.p99 },
    meanAgentsPerProject: agents / samples,
  };
}

/**
 * Moves the group whose subtree holds closest to `targetProjects` projects under another root,
 * with authz's production `moveGroupSubtree`, in one transaction.
 */
async function measureTransfer(db: Kysely<AuthzDatabase>, targetProjects: number) {
  const pickedResult = await sql<{ gid: number; n: number }>`
    select gid, count(*) as n from (select unnest(traversal_ids) as gid from authz.projects) x
    group by gid order by abs(count(*) - ${targetProjects}) limit 1`.execute(db);
  const picked = pickedResult.rows[0];
  if (!picked) throw new Error("no group to transfer");
  const group = await findGroup(db, Number(picked.gid));
  if (!group) throw new Error(`group ${picked.gid} not found`);
  const otherRoot = await db
    .selectFrom("authz.groups")
    .select("id")
    .where("parent_id", "is", null)
    .where("id", "!=", group.traversal_ids[0] ?? 0)
    .orderBy("id")
    .executeTakeFirstOrThrow();
  const parent = await findGroup(db, Number(otherRoot.id));
  if (!parent) throw new Error(`group ${otherRoot.id} not found`);
  const [ms, counts] = await timed(() =>
    db.transaction().execute(async (tx) => {
      const moved = await moveGroupSubtree(tx, { group, parent });
      return { groups: moved.groups.length, projects: moved.projects.length };
    }),
  );
  return { groupId: group.id, ...counts, ms };
}

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? Number(process.argv[index + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}

async function main(): Promise<void> {
  await runAllowedAgentsBench({ scale: argument("scale", 1), samples: argument("samples", 2_000) });
}

async function printAllowedAgentsBench(result: AllowedAgentsBenchResult): Promise<void> {
  const version = await pgVersion();
  const f = (ms: number) => `${ms.toFixed(3)} ms`;
  console.log(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? "?"}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB; node ${process.version}; ${version}`,
  );
  console.log(
    `tool: npx tsx bench/allowed-agents.bench.ts --scale ${result.scale} --samples ${result.samples}; one connection (kysely, pool max 1), interleaved samples after 300 warm-ups`,
  );
  console.log(
    `registry: ${JSON.stringify(result.size)}; generated + indexed + analyzed in ${result.generationSeconds.toFixed(1)} s`,
  );
  console.log(
    `namespace grants: ${result.namespaceGrants.rows} rows rebuilt + analyzed in ${result.namespaceGrants.seconds.toFixed(1)} s`,
  );
  console.log(`PK lookup       p50 ${f(result.pkLookupMs.p50)}  p99 ${f(result.pkLookupMs.p99)}`);
  console.log(
    `allowed agents  p50 ${f(result.allowedAgentsMs.p50)}  p99 ${f(result.allowedAgentsMs.p99)}  (mean ${result.meanAgentsPerProject.toFixed(2)} agents per project)`,
  );
  console.log(`RATIO to PK lookup: p50 ${result.ratio.p50.toFixed(2)}×  p99 ${result.ratio.p99.toFixed(2)}×`);
  const t = result.transfer;
  console.log(
    `group transfer: group ${t.groupId} with ${t.groups} groups and ${t.projects} projects rewritten in ${f(t.ms)}`,
  );
  const w = result.worstCase;
  console.log(
    `worst case (${w.projects} deepest projects under root group ${w.rootGroupId}, the largest): PK p50 ${f(w.pkLookupMs.p50)}, allowed agents p50 ${f(w.allowedAgentsMs.p50)} p99 ${f(w.allowedAgentsMs.p99)}; RATIO p50 ${w.ratio.p50.toFixed(2)}×  p99 ${w.ratio.p99.toFixed(2)}×`,
  );
  const h = result.http;
  console.log(
    `HTTP, ${BENCH_HTTP_LOAD.concurrency} connections, ${h.jobs} jobs of as many users (${h.worstCaseJobs} in the worst case), ${h.agentsAnswered} agents in one answer per job:`,
  );
  console.log(
    `  GET /projects/:id (one PK lookup)    ${h.pkRoute.rps.toFixed(0)} req/s, p99 ${h.pkRoute.p99Ms.toFixed(1)} ms, errors ${h.pkRoute.errors}`,
  );
  console.log(
    `  GET /job/allowed_agents (JOB-TOKEN)  ${h.allowedAgents.rps.toFixed(0)} req/s, p99 ${h.allowedAgents.p99Ms.toFixed(1)} ms, errors ${h.allowedAgents.errors}`,
  );
  // Issue 12 goal 4: the SQL's median against the primary-key lookup's (random projects and the
  // worst case), and the route's throughput over HTTP against a one-lookup route's.
  printGoal({
    name: "allowed-agents-sql",
    measured: result.ratio.p50,
    kind: "atMost",
    bound: 1.2,
    digits: 2,
  });
  printGoal({
    name: "allowed-agents-sql-worst-case",
    measured: w.ratio.p50,
    kind: "atMost",
    bound: 1.2,
    digits: 2,
  });
  printGoal({
    name: "allowed-agents-http",
    measured: h.allowedAgents.errors > 0 ? 0 : h.allowedAgents.rps / h.pkRoute.rps,
    kind: "atLeast",
    bound: 0.5,
    digits: 2,
  });
}

async function pgVersion(): Promise<string> {
  const client = new pg.Client({
    connectionString: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres",
  });
  await client.connect();
  try {
    const result = await client.query<{ v: string }>("select split_part(version(), ' on ', 1) as v");
    return result.rows[0]?.v ?? "PostgreSQL";
  } finally {
    await client.end();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await main();
}
