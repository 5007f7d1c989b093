import { mayPerform } from "@kasmap/access-rules";
import {
  CreateGroupBodySchema,
  CreateProjectBodySchema,
  type GroupsListQuery,
  GroupsListQuerySchema,
  KasmapError,
  TransferGroupBodySchema,
  TransferProjectBodySchema,
} from "@kasmap/contracts";
import type { FastifyInstance } from "fastify";
import type { AuthenticatedUser } from "../auth/authenticate.ts";
import { userOf } from "../auth/principal-of-request.ts";
import type { GatewayContext } from "../context.ts";
import { groupBody, projectBody } from "../http/gitlab-bodies.ts";
import { asFailedToSaveGroup, asFailedToTransferProject } from "../http/model-errors.ts";
import { paginationHeaders } from "../http/pagination.ts";
import { invalidParams, mergedParams, parseParams } from "../http/request-params.ts";
import { requestUrl } from "../http/request-url.ts";
import { visibleGroup, visibleNamespace, visibleProject } from "../permissions/visible-resources.ts";
import { type GroupListScope, listGroups } from "../read-model/group-list-queries.ts";
import { nameAndPath } from "../read-model/project-path.ts";
import { findGroup, type GroupRow } from "../read-model/registry-queries.ts";
import { forwardCommand } from "./forward-command.ts";
import type { IdParams } from "./route-params.ts";

/** `POST/GET /api/v4/groups[/:id]` and `POST/GET /api/v4/projects[/:id]`. */
export function registerGroupAndProjectRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.post("/api/v4/groups", async (request, reply) => {
    const user = await userOf(ctx, request);
    const params = parseParams(CreateGroupBodySchema, mergedParams(request.query, request.body));
    // A parent the caller cannot see answers as if it did not exist (authz decides the rest).
    if (params.parent_id) await visibleGroup(ctx, user, String(params.parent_id));
    // A path taken or malformed is a model error, which GitLab answers in one string.
    const group = await forwardCommand(ctx, "group.create", {
      actor_user_id: user.id,
      name: params.name,
      path: params.path,
      parent_id: params.parent_id ?? null,
      description: params.description ?? null,
    }).catch((error: unknown) => {
      throw asFailedToSaveGroup(error);
    });
    return reply.code(201).send(groupBody(group));
  });

  /**
   * GitLab's "List groups": the groups the caller may see (`groupListScope`), filtered, ordered
   * and paginated as lib/api/groups.rb does. No credential is `401` as on every other Kasmap read
   * (GitLab lists public groups to anonymous callers; Kasmap has none, so GitLab would answer `[]`).
   * `visibility=public|internal` lists nothing: every Kasmap group is private.
   */
  app.get("/api/v4/groups", async (request, reply) => {
    const user = await userOf(ctx, request);
    const query = parseParams(GroupsListQuerySchema, request.query);
    const page = { page: query.page, perPage: query.per_page };
    const filter = {
      search: query.search,
      topLevelOnly: query.top_level_only === true,
      skipIds: query.skip_groups,
      // Kasmap keeps no similarity score: `similarity` orders by name (GitLab's order without a search).
      orderBy: query.order_by === "similarity" ? "name" : query.order_by,
      sort: query.sort,
    };
    const { groups, total } =
      query.visibility === undefined || query.visibility === "private"
        ? await listGroups(ctx.db, groupListScope(user, query), filter, page)
        : { groups: [], total: 0 };
    return reply
      .headers(paginationHeaders(requestUrl(request, ctx.externalUrl), page, total))
      .send(groups.map(groupBody));
  });

  app.get<IdParams>("/api/v4/groups/:id", async (request) => {
    const user = await userOf(ctx, request);
    return groupBody(await visibleGroup(ctx, user, request.params.id));
  });

  app.post("/api/v4/projects", async (request, reply) => {
    const user = await userOf(ctx, request);
    const params = parseParams(CreateProjectBodySchema, mergedParams(request.query, request.body));
    const naming = nameAndPath(params);
    if (!naming) throw invalidParams(["name, path are missing, at least one parameter must be provided"]);
    // Without namespace_id the project goes to the caller's personal namespace (GitLab's
    // default); authz finds it (and creates it if the user predates personal namespaces). A
    // namespace the caller may not create in, cannot see or that does not exist is authz's one
    // answer, `400 {"message":{"namespace":["is not valid"]}}`: no lookup here may answer apart.
    const project = await forwardCommand(ctx, "project.create", {
      actor_user_id: user.id,
      name: naming.name,
      path: naming.path,
      namespace_id: params.namespace_id ?? null,
      description: params.description ?? null,
    });
    return reply.code(201).send(projectBody(project, await namespaceOf(ctx, project.namespace_id)));
  });

  // Moves, checked in GitLab's order: the parameters, the source and `authorize!` on it, then the
  // target; authz (the authority) repeats the checks, refuses with GitLab's transfer services'
  // wording, recomputes the subtree's traversal_ids and re-evaluates the agents it touches.
  app.post<IdParams>("/api/v4/groups/:id/transfer", async (request, reply) => {
    const user = await userOf(ctx, request);
    const params = parseParams(TransferGroupBodySchema, mergedParams(request.query, request.body));
    const group = await visibleGroup(ctx, user, request.params.id);
    // `admin_group` on the group (403) before the new parent is looked up (404): authz, which
    // alone holds group levels for every access source, checks both in that order.
    const moved = await forwardCommand(ctx, "group.transfer", {
      actor_user_id: user.id,
      group_id: group.id,
      parent_id: params.group_id ?? null,
    });
    return reply.code(201).send(groupBody(moved));
  });

  app.put<IdParams>("/api/v4/projects/:id/transfer", async (request) => {
    const user = await userOf(ctx, request);
    const params = parseParams(TransferProjectBodySchema, mergedParams(request.query, request.body));
    const project = await visibleProject(ctx, user, request.params.id, "read_project");
    // `authorize! :change_namespace` before `find_namespace!`: a Maintainer naming any namespace,
    // even a missing one, is refused 403.
    if (
      !user.isAdmin &&
      !mayPerform("change_namespace", await ctx.access.projectLevel(user, project), false)
    ) {
      throw new KasmapError("forbidden", "Forbidden");
    }
    const target = await visibleNamespace(ctx, user, String(params.namespace));
    const moved = await forwardCommand(ctx, "project.transfer", {
      actor_user_id: user.id,
      project_id: project.id,
      namespace_id: target.id,
    }).catch((error: unknown) => {
      throw asFailedToTransferProject(error);
    });
    return projectBody(moved, await namespaceOf(ctx, moved.namespace_id));
  });

  app.get<IdParams>("/api/v4/projects/:id", async (request) => {
    const user = await userOf(ctx, request);
    const project = await visibleProject(ctx, user, request.params.id, "read_project");
    return projectBody(project, await namespaceOf(ctx, project.namespace_id));
  });
}

async function namespaceOf(ctx: GatewayContext, namespaceId: number): Promise<GroupRow> {
  const group = await findGroup(ctx.db, { kind: "id", id: namespaceId });
  // A project row without its namespace means the read model is mid-rebuild (or, right after
  // a create, behind): not the caller's fault.
  if (!group) throw new KasmapError("unavailable", `namespace ${namespaceId} of a project is missing`);
  return group;
}

/**
 * Which groups a list starts from, as `GroupsFinder#all_groups` picks: `owned` first, then
 * `min_access_level`, then every group for an administrator with `all_available` (their
 * default), else the caller's hierarchy.
 */
export function groupListScope(
  user: Pick<AuthenticatedUser, "id" | "isAdmin">,
  query: Pick<GroupsListQuery, "owned" | "min_access_level" | "all_available">,
): GroupListScope {
  if (query.owned) return { kind: "owned", userId: user.id };
  if (query.min_access_level !== undefined) {
    return { kind: "min_access_level", userId: user.id, level: query.min_access_level };
  }
  if (user.isAdmin && (query.all_available ?? true)) return { kind: "all" };
  return { kind: "hierarchy", userId: user.id };
}
