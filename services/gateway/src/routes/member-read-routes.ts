import { KasmapError, MembersQuerySchema } from "@kasmap/contracts";
import type { FastifyInstance } from "fastify";
import type { AuthenticatedUser } from "../auth/authenticate.ts";
import { userOf } from "../auth/principal-of-request.ts";
import type { GatewayContext } from "../context.ts";
import { memberBody } from "../http/gitlab-bodies.ts";
import { paginationHeaders } from "../http/pagination.ts";
import { invalidParams, parseParams } from "../http/request-params.ts";
import { requestUrl } from "../http/request-url.ts";
import { visibleGroup, visibleProject } from "../permissions/visible-resources.ts";
import { findMember, listMembers, type MemberSources } from "../read-model/member-queries.ts";
import { parseNumericId } from "../read-model/resource-id.ts";
import type { IdParams, MemberParams } from "./route-params.ts";

/**
 * GitLab's member reads (lib/api/members.rb): `GET /{groups,projects}/:id/members[/:user_id]`
 * (direct members) and `…/members/all[/:user_id]` (with those of the groups above, each user once
 * at their highest level). Whoever may see the group or project may read its members (a
 * non-member gets `404 Group/Project Not Found`); a user who is no such member is
 * `404 {"message":"404 Not found"}` (`find_by!`). Bodies are `API::Entities::Member`, paginated.
 */
export function registerMemberReadRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  for (const sourceType of ["group", "project"] as const) {
    /** The sources whose memberships count for the group or project `:id`, if the caller may see it. */
    const sourcesOf = async (caller: AuthenticatedUser, id: string, all: boolean): Promise<MemberSources> => {
      if (sourceType === "group") {
        const group = await visibleGroup(ctx, caller, id);
        return { projectId: null, groupIds: all ? group.traversal_ids : [group.id] };
      }
      const project = await visibleProject(ctx, caller, id, "read_project");
      return { projectId: project.id, groupIds: all ? project.traversal_ids : [] };
    };

    for (const all of [false, true]) {
      const base = `/api/v4/${sourceType}s/:id/members${all ? "/all" : ""}`;

      app.get<IdParams>(base, async (request, reply) => {
        const caller = await userOf(ctx, request);
        const query = parseParams(MembersQuerySchema, request.query);
        const sources = await sourcesOf(caller, request.params.id, all);
        const page = { page: query.page, perPage: query.per_page };
        const filter = { query: query.query, userIds: query.user_ids };
        const { members, total } = await listMembers(ctx.db, sources, filter, page);
        return reply
          .headers(paginationHeaders(requestUrl(request, ctx.externalUrl), page, total))
          .send(members.map((member) => memberBody(member, member.access_level)));
      });

      app.get<MemberParams>(`${base}/:user_id`, async (request) => {
        const caller = await userOf(ctx, request);
        const userId = parseNumericId(request.params.user_id);
        if (userId === null) throw invalidParams(["user_id is invalid"]);
        const member = await findMember(ctx.db, await sourcesOf(caller, request.params.id, all), userId);
        if (!member) throw new KasmapError("not_found_unnamed", "Member");
        return memberBody(member, member.access_level);
      });
    }
  }
}
