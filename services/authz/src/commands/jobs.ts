import { ACCESS_LEVELS, digestToken, generateToken, TOKEN_PREFIXES } from "@kasmap/contracts";
import { sql } from "kysely";
import { environmentSlug } from "../environment-slug.ts";
import { requireActiveUser, requireProjectLevel } from "../permissions.ts";
import { emitRegistryChange } from "../registry-events.ts";
import { toJob } from "../store/entities.ts";
import type { CommandHandler } from "./command-deps.ts";

/**
 * `job.create`: registers a running CI job (Kasmap has no CI of its own; this stands in for a
 * pipeline run) for a user with Developer+ on the project, who may run pipelines in GitLab.
 * Returns the job token (`glcbt-…`) once; only its SHA-256 is stored or published.
 */
export const createJob: CommandHandler<"job.create"> = (deps, request) =>
  deps.run(request.actor_user_id, async (unit) => {
    const actor = await requireActiveUser(unit.tx, request.actor_user_id);
    const project = await requireProjectLevel(unit.tx, actor, request.project_id, ACCESS_LEVELS.developer);
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
    emitRegistryChange.job(unit, job);
    const { token_sha256: _digest, ...publicJob } = job;
    return { job: publicJob, plaintext };
  });
