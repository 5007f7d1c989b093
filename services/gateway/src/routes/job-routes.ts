import { CreateJobBodySchema, type Job, KasmapError, NOT_FOUND } from "@kasmap/contracts";
import type { FastifyInstance } from "fastify";
import { principalOf, userOf } from "../auth/principal-of-request.ts";
import type { GatewayContext } from "../context.ts";
import { mergedParams, parseParams } from "../http/request-params.ts";
import { requireProjectRole } from "../permissions/project-role.ts";
import { visibleProject } from "../permissions/visible-resources.ts";
import { parseNumericId } from "../read-model/resource-id.ts";
import { forwardCommand } from "./forward-command.ts";
import type { IdParams, JobParams } from "./route-params.ts";

function jobBody(job: Omit<Job, "token_sha256" | "created_at">) {
  return {
    id: job.id,
    project_id: job.project_id,
    pipeline_id: job.pipeline_id,
    ref: job.ref,
    ref_protected: job.ref_protected,
    environment: job.environment,
    status: job.status,
  };
}

/**
 * Kasmap has no CI of its own, so CI jobs are registered and finished through the API:
 * - `POST /api/v4/projects/:id/jobs` `{pipeline_id?, ref?, ref_protected?, environment?: {name,
 *   tier?, slug?}}` registers a running job (authz's `job.create`: Developer+; a protected ref or
 *   an environment needs Maintainer+) and answers `201` with its token, shown once. The answer
 *   waits for the projection (read-your-writes), so the token works at once against
 *   `GET /api/v4/job/allowed_agents`.
 * - `POST /api/v4/projects/:id/jobs/:job_id/finish` ends it (the runner's "job done"): with the
 *   job's own `JOB-TOKEN`, or a personal access token of a Developer+. `201` with the job;
 *   from then on its token is refused (`401`). Finishing a finished job answers the same.
 */
export function registerJobRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.post<IdParams>("/api/v4/projects/:id/jobs", async (request, reply) => {
    const user = await userOf(ctx, request);
    // Non-members get 404 here; members below Developer get authz's 403.
    const project = await visibleProject(ctx, user, request.params.id, "read_project");
    const body = parseParams(CreateJobBodySchema, mergedParams(request.query, request.body));
    const { job, plaintext } = await forwardCommand(ctx, "job.create", {
      actor_user_id: user.id,
      project_id: project.id,
      ...(body.pipeline_id === undefined ? {} : { pipeline_id: body.pipeline_id }),
      ...(body.ref === undefined ? {} : { ref: body.ref }),
      ...(body.ref_protected === undefined ? {} : { ref_protected: body.ref_protected }),
      ...(body.environment === undefined ? {} : { environment: body.environment }),
    });
    const { id, ...rest } = jobBody(job);
    return reply.code(201).send({ id, token: plaintext, ...rest });
  });

  app.post<JobParams>("/api/v4/projects/:id/jobs/:job_id/finish", async (request, reply) => {
    const principal = await principalOf(ctx, request, { allowJobToken: true });
    const project = await visibleProject(ctx, principal.user, request.params.id, "read_project");
    const jobId = parseNumericId(request.params.job_id);
    if (principal.kind === "job") {
      // A job token finishes its own job and no other.
      if (jobId !== principal.jobId || project.id !== principal.projectId) {
        throw new KasmapError("not_found", NOT_FOUND.job);
      }
    } else {
      // The role first, then the job: below Developer, every job id answers the same 403.
      await requireProjectRole(ctx, principal.user, project, "update_build");
    }
    if (jobId === null) throw new KasmapError("not_found", NOT_FOUND.job);
    const job = await forwardCommand(ctx, "job.finish", {
      actor_user_id: principal.user.id,
      project_id: project.id,
      job_id: jobId,
    });
    return reply.code(201).send(jobBody(job));
  });
}
