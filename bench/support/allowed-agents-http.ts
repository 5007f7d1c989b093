import { randomBytes } from "node:crypto";
import { digestToken } from "@kasmap/contracts";
import type { ReadModelDatabase } from "@kasmap/db";
import { startGateway } from "@kasmap/gateway-service";
import { type Kysely, sql } from "kysely";
import { withBenchStreams } from "./bench-streams.ts";
import { BENCH_HTTP_LOAD, compareUnderLoad, type LoadResult, type LoadTarget } from "./http-load.ts";

/** One CI job of the HTTP half: its project, its job token and its user's personal token. */
type BenchJob = { projectId: number; jobToken: string; userToken: string };

export type AllowedAgentsHttpResult = {
  jobs: number;
  worstCaseJobs: number;
  /** `GET /api/v4/projects/:id` with each job's user's personal access token. */
  pkRoute: LoadResult;
  /** `GET /api/v4/job/allowed_agents` with each job's `JOB-TOKEN`. */
  allowedAgents: LoadResult;
  /** Agents in the answers, summed over one request per job (checks the answers are real). */
  agentsAnswered: number;
};

/**
 * Issue 12 goal 4, its HTTP half: `GET /api/v4/job/allowed_agents` through the real gateway on
 * the generated registry, against a gateway route that does one primary-key lookup
 * (`GET /api/v4/projects/:id`), both under `BENCH_HTTP_LOAD` and spread over `jobs` CI jobs of
 * as many users (each a Developer of its job's project): `randomProjects` random projects plus
 * `worstProjects`, the deepest projects under the largest root group. Users, tokens, memberships
 * and running jobs are written straight into the read model (the registry is too large to go
 * through authz here); the gateway reads it as it would the projection's.
 */
export async function measureAllowedAgentsOverHttp(
  db: Kysely<ReadModelDatabase>,
  databaseUrl: string,
  projects: { randomProjects: readonly number[]; worstProjects: readonly number[] },
): Promise<AllowedAgentsHttpResult> {
  const projectIds = [...projects.randomProjects, ...projects.worstProjects];
  const jobs = await registerBenchJobs(db, projectIds);
  return withBenchStreams("kasmap-bench-allowed-agents-http", async (bus) => {
    const gateway = await startGateway({ bus, databaseUrl, port: 0 });
    try {
      const api = `${gateway.url}/api/v4`;
      const pkTargets: LoadTarget[] = jobs.map((job) => ({
        url: `${api}/projects/${job.projectId}`,
        headers: { "PRIVATE-TOKEN": job.userToken },
      }));
      const allowedTargets: LoadTarget[] = jobs.map((job) => ({
        url: `${api}/job/allowed_agents`,
        headers: { "JOB-TOKEN": job.jobToken },
      }));
      const agentsAnswered = await checkAnswers(pkTargets, allowedTargets);
      const { base, subject } = await compareUnderLoad(pkTargets, allowedTargets, BENCH_HTTP_LOAD);
      return {
        jobs: jobs.length,
        worstCaseJobs: projects.worstProjects.length,
        pkRoute: base,
        allowedAgents: subject,
        agentsAnswered,
      };
    } finally {
      await gateway.stop();
    }
  });
}

/** Every target answers 200 before anything is timed: a bench of 401s would measure nothing. */
async function checkAnswers(pkTargets: LoadTarget[], allowedTargets: LoadTarget[]): Promise<number> {
  let agents = 0;
  for (const [index, target] of [...pkTargets, ...allowedTargets].entries()) {
    const response = await fetch(target.url, { headers: target.headers });
    const body = (await response.json()) as { allowed_agents?: unknown[] };
    if (response.status !== 200) {
      throw new Error(`${target.url} answered ${response.status}: ${JSON.stringify(body)}`);
    }
    if (index >= pkTargets.length) agents += body.allowed_agents?.length ?? 0;
  }
  return agents;
}

/**
 * One user per project (Developer, a personal access token with `read_api`) and one running
 * job of theirs in it, ids above anything the generator wrote.
 */
async function registerBenchJobs(db: Kysely<ReadModelDatabase>, projectIds: readonly number[]) {
  const jobs: BenchJob[] = projectIds.map((projectId) => ({
    projectId,
    jobToken: `glcbt-bench-${randomBytes(16).toString("hex")}`,
    userToken: `glpat-bench-${randomBytes(16).toString("hex")}`,
  }));
  const ids = jobs.map((_, index) => 1_000_000_000 + index);
  await sql`
    insert into read_model.users (id, username, name, is_admin, state, created_at)
    select id, 'bench-user-' || id, 'Bench user ' || id, false, 'active', now() from unnest(${ids}::bigint[]) id
  `.execute(db);
  await sql`
    insert into read_model.personal_access_tokens
      (id, user_id, name, token_sha256, scopes, revoked, expires_at, created_at)
    select id, id, 'bench', digest, array['read_api'], false, null, now()
    from unnest(${ids}::bigint[], ${jobs.map((job) => digestToken(job.userToken))}::text[]) t(id, digest)
  `.execute(db);
  await sql`
    insert into read_model.memberships (id, user_id, source_type, source_id, access_level)
    select id, id, 'project', project_id, 30
    from unnest(${ids}::bigint[], ${jobs.map((job) => job.projectId)}::bigint[]) t(id, project_id)
  `.execute(db);
  await sql`
    insert into read_model.jobs
      (id, project_id, pipeline_id, user_id, ref, ref_protected, environment, status, token_sha256, created_at)
    select id, project_id, id, id, 'main', true, null, 'running', digest, now()
    from unnest(${ids}::bigint[], ${jobs.map((job) => job.projectId)}::bigint[],
                ${jobs.map((job) => digestToken(job.jobToken))}::text[]) t(id, project_id, digest)
  `.execute(db);
  return jobs;
}
