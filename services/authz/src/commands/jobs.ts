import type { RoleAction } from "@kasmap/access-rules";
import { digestToken, generateToken, KasmapError, NOT_FOUND, TOKEN_PREFIXES } from "@kasmap/contracts";
import { sql } from "kysely";
import { environmentSlug } from "../environment-slug.ts";
import { requireProjectAction } from "../permissions.ts";
import { emitRegistryChange } from "../registry-events.ts";
import { toJob } from "../store/entities.ts";
import { actorCommand } from "./actor-command.ts";
import { withoutDigest } from "./without-digest.ts";

/**
 * The least role that may assert a job's `ref_protected: true` or its `environment`. In GitLab
 * neither is the job's own claim: the pipeline derives them from the project's protected
 * branches and environments, which only Maintainers configure. Kasmap cannot see those, so it
 * trusts the claim only from someone who could have configured them; Developers register jobs
 * on unprotected (or unknown) refs without an environment, which `protected_branches_only` and
 * `environments` entries never match.
 */
export const JOB_CONTEXT_ASSERTION_ACTION = "assert_job_context" satisfies RoleAction;

/**
 * `job.create`: registers a running CI job (Kasmap has no CI of its own; this stands in for a
 * pipeline run) for a user with Developer+ on the project, who may run pipelines in GitLab;
 * a protected ref or an environment needs Maintainer+ (`JOB_CONTEXT_ASSERTION_ACTION`).
 * Returns the job token (`glcbt-…`) once; only its SHA-256 is stored or published.
 */
export const createJob = actorCommand<"job.create">(async (unit, actor, request) => {
  const project = await requireProjectAction(unit.tx, actor, request.project_id, "create_pipeline");
  if (request.ref_protected === true || request.environment) {
    await requireProjectAction(unit.tx, actor, project.id, JOB_CONTEXT_ASSERTION_ACTION);
  }
  const environment = request.environment
    ? {
        name: request.environment.name,
        tier: request.environment.tier,
        slug: request.environment.slug ?? environmentSlug(request.environment.name),
      }
    : null;
  const plaintext = generateToken(TOKEN_PREFIXES.ciJob);
  const row = await unit.tx
    .insertInto("authz.jobs")
    .values({
      project_id: project.id,
      pipeline_id: request.pipeline_id ?? sql<number>`nextval('authz.pipeline_ids')`,
      user_id: actor.id,
      ref: request.ref,
      ref_protected: request.ref_protected,
      environment: JSON.stringify(environment),
      status: "running",
      token_sha256: digestToken(plaintext),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  const job = toJob(row);
  emitRegistryChange(unit, "job", job);
  return { job: withoutDigest(job), plaintext };
});

/**
 * `job.finish`: the job is over, so its token stops working (GitLab accepts a job token only
 * while its job runs). Developer+ on the project, checked before the job is looked up, so a
 * caller below the role learns nothing about job ids; finishing a finished job changes nothing.
 */
export const finishJob = actorCommand<"job.finish">(async (unit, actor, request) => {
  const project = await requireProjectAction(unit.tx, actor, request.project_id, "update_build");
  const row = await unit.tx
    .selectFrom("authz.jobs")
    .selectAll()
    .where("id", "=", request.job_id)
    .where("project_id", "=", project.id)
    .executeTakeFirst();
  if (!row) throw new KasmapError("not_found", NOT_FOUND.job);
  const finished =
    row.status === "finished"
      ? row
      : await unit.tx
          .updateTable("authz.jobs")
          .set({ status: "finished" })
          .where("id", "=", row.id)
          .returningAll()
          .executeTakeFirstOrThrow();
  const job = toJob(finished);
  if (row.status !== "finished") emitRegistryChange(unit, "job", job);
  return withoutDigest(job);
});
