import { CreateJobBodySchema } from "@kasmap/contracts";
import type { FastifyInstance } from "fastify";
import { userOf } from "../auth/principal-of-request.ts";
import type { GatewayContext } from "../context.ts";
import { mergedParams, parseParams } from "../http/request-params.ts";
import { REQUIRED_LEVELS, visibleProject } from "../permissions/visible-resources.ts";
import { forwardCommand } from "./forward-command.ts";

type ProjectParams = { Params: { id: string } };

/**
 * `POST /api/v4/projects/:id/jobs` `{pipeline_id?, ref?, ref_protected?, environment?: {name,
 * tier?, slug?}}`: Kasmap has no CI of its own, so this registers a running CI job (authz's
 * `job.create`, Developer+, checked by authz) and answers `201` with its token, shown once. The
 * answer waits for the projection (read-your-writes), so the token works at once against
 * `GET /api/v4/job/allowed_agents`.
 */
export function registerJobRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.post<ProjectParams>("/api/v4/projects/:id/jobs", async (request, reply) => {
    const user = await userOf(ctx, request);
    // Non-members get 404 here; members below Developer get authz's 403.
    const project = await visibleProject(ctx, user, request.params.id, REQUIRED_LEVELS.seeProject);
    const body = parseParams(CreateJobBodySchema, mergedParams(request.query, request.body));
    const { job, plaintext } = await forwardCommand(ctx, "job.create", {
      actor_user_id: user.id,
      project_id: project.id,
      ...(body.pipeline_id === undefined ? {} : { pipeline_id: body.pipeline_id }),
      ...(body.ref === undefined ? {} : { ref: body.ref }),
      ...(body.ref_protected === undefined ? {} : { ref_protected: body.ref_protected }),
      ...(body.environment === undefined ? {} : { environment: body.environment }),
    });
    return reply.code(201).send({
      id: job.id,
      token: plaintext,
      project_id: job.project_id,
      pipeline_id: job.pipeline_id,
      ref: job.ref,
      ref_protected: job.ref_protected,
      environment: job.environment,
      status: job.status,
    });
  });
}
