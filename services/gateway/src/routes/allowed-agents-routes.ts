import {
  explainAuthorization,
  filterAuthorizationsForJob,
  type JobContext,
  mayPerform,
  type ProjectPlacement,
} from "@kasmap/access-rules";
import {
  ExplainAuthorizationQuerySchema,
  KasmapError,
  NOT_FOUND,
  WithClusterInfoQuerySchema,
} from "@kasmap/contracts";
import type { FastifyInstance } from "fastify";
import { unauthorized } from "../auth/authenticate.ts";
import { principalOf, userOf } from "../auth/principal-of-request.ts";
import type { GatewayContext } from "../context.ts";
import {
  jobAllowedAgentBody,
  jobEnvironmentBody,
  projectAllowedAgentBody,
  projectGroups,
  rolesInProject,
} from "../http/allowed-agents-bodies.ts";
import { checkParams, parseParams } from "../http/request-params.ts";
import { visibleProject } from "../permissions/visible-resources.ts";
import { queryAllowedAgents } from "../read-model/allowed-agents-query.ts";
import { loadAgentCiRowsFor } from "../read-model/ci-job-queries.ts";
import {
  findGroup,
  findProject,
  type ProjectRow,
  projectIdCacheKey,
} from "../read-model/registry-queries.ts";
import { agentById, agentIdParam, recordNotFound, withClusterInfoIfAsked } from "./agent-lookup.ts";
import type { AgentParams, IdParams } from "./route-params.ts";

/**
 * "Which agents may this project / CI job use, and why":
 * - `GET /api/v4/job/allowed_agents` (`JOB-TOKEN`; GitLab's `API::Ci::Jobs`, exactly its shape),
 * - `GET /api/v4/projects/:id/allowed_agents` (Developer+; with the granting rule),
 * - `GET /api/v4/projects/:id/cluster_agents/:agent_id/authorization/explain` (Developer+),
 * - `POST /api/v4/projects/:id/jobs` (registers a CI job: `routes/job-routes.ts`).
 */
export function registerAllowedAgentsRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const options = ctx.ciAccess;
  app.get("/api/v4/job/allowed_agents", async (request) => {
    const principal = await principalOf(ctx, request, { allowJobToken: true });
    // GitLab's `validate_current_authenticated_job`: a valid token that is not a job token.
    if (principal.kind !== "job") throw new KasmapError("not_found", NOT_FOUND.job);
    const query = parseParams(WithClusterInfoQuerySchema, request.query);
    // The job's row came with its token (the principal); only its project is looked up.
    const job = principal.job;
    const project = await cachedProject(ctx, principal.projectId);
    // It vanishes only if the project went after the principal was cached.
    if (!project) throw unauthorized();
    const [rows, level, groups] = await Promise.all([
      queryAllowedAgents(ctx.db, project.id, options),
      ctx.access.projectLevel(principal.user, project),
      jobProjectGroups(ctx, project),
    ]);
    const allowed = filterAuthorizationsForJob(rows, job);
    return {
      allowed_agents: await Promise.all(
        allowed.map((row) =>
          withClusterInfoIfAsked(ctx, jobAllowedAgentBody(row), row.agent_id, query.with_cluster_info),
        ),
      ),
      job: { id: job.id },
      pipeline: { id: job.pipeline_id },
      project: { id: project.id, groups },
      user: {
        id: principal.user.id,
        username: principal.user.username,
        roles_in_project: rolesInProject(level),
      },
      ...jobEnvironmentBody(job.environment),
    };
  });

  app.get<IdParams>("/api/v4/projects/:id/allowed_agents", async (request) => {
    const user = await userOf(ctx, request);
    const [query] = checkParams(() => parseParams(WithClusterInfoQuerySchema, request.query));
    const project = await visibleProject(ctx, user, request.params.id, "read_cluster_agent");
    const rows = await queryAllowedAgents(ctx.db, project.id, options);
    return {
      allowed_agents: await Promise.all(
        rows.map((row) =>
          withClusterInfoIfAsked(ctx, projectAllowedAgentBody(row), row.agent_id, query.with_cluster_info),
        ),
      ),
    };
  });

  app.get<AgentParams>(
    "/api/v4/projects/:id/cluster_agents/:agent_id/authorization/explain",
    async (request) => {
      const user = await userOf(ctx, request);
      const [agentId, query] = checkParams(
        () => agentIdParam(request.params.agent_id),
        () => parseParams(ExplainAuthorizationQuerySchema, request.query),
      );
      const project = await visibleProject(ctx, user, request.params.id, "read_cluster_agent");
      const found = await agentById(ctx, agentId);
      const rows = await loadAgentCiRowsFor(ctx.db, found.agent.id, project);
      // An agent the project's configuration never mentions is someone else's business: only a
      // caller who may read that agent learns why it does not apply (else 404, no existence leak).
      const mentioned =
        found.agent.project_id === project.id ||
        rows.project_authorizations.length > 0 ||
        rows.group_authorizations.length > 0;
      if (!mentioned && !user.isAdmin) {
        const level = await ctx.access.projectLevel(user, found.project);
        // The same body as a missing agent (agentById), so the answer leaks nothing.
        if (!mayPerform("read_cluster_agent", level, false)) throw recordNotFound();
      }
      const agent = { id: found.agent.id, name: found.agent.name, config_project: placement(found.project) };
      return explainAuthorization(
        placement(project),
        agent,
        { agents: [agent], ...rows },
        {
          ...options,
          ...explainJob(query),
        },
      );
    },
  );
}

/** The job context of an explain call: none unless `environment` or `ref_protected` is given. */
function explainJob(query: { environment?: string | undefined; ref_protected?: boolean | undefined }): {
  job?: JobContext;
} {
  if (query.environment === undefined && query.ref_protected === undefined) return {};
  return {
    job: {
      environment: query.environment === undefined ? null : { name: query.environment },
      ref_protected: query.ref_protected ?? null,
    },
  };
}

/**
 * `project.groups` of the job answer. GitLab sends none for a project in a personal namespace
 * (its `project.group` is nil). Only a root-level namespace can be personal, so deeper projects
 * skip the lookup; it runs beside the agents query, adding no wait.
 */
async function jobProjectGroups(ctx: GatewayContext, project: ProjectRow): Promise<Array<{ id: number }>> {
  if (project.traversal_ids.length === 1) {
    const namespace = await findGroup(ctx.db, { kind: "id", id: project.namespace_id });
    if (namespace?.kind === "user") return [];
  }
  return projectGroups(project.traversal_ids);
}

function placement(project: ProjectRow): ProjectPlacement {
  return {
    id: project.id,
    path_with_namespace: project.path_with_namespace,
    traversal_ids: project.traversal_ids,
  };
}

async function cachedProject(ctx: GatewayContext, projectId: number): Promise<ProjectRow | null> {
  return ctx.caches.projects.get(projectIdCacheKey(projectId), () =>
    findProject(ctx.primaryDb, { kind: "id", id: projectId }),
  );
}
